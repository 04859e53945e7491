// The tables bench:copy migrates (BENCH_TABLE): the sample `users` table of schemas/, and `orders`,
// the shape issue 7's targets were set on (BIGINT key, an INT with a secondary index, VARCHAR(64),
// DATETIME(6), DECIMAL and TEXT). Each comes with its ALTER and a write mix for the writers.
import type { Connection } from 'mysql2/promise';
import { createUsers, oltpWriteMix, seedRows, usersWriteMix } from '../runner/embedded/sample-data.ts';
import type { WriteOperation } from '../runner/embedded/write-load.ts';

export interface BenchTable {
  name: string;
  alter: string;
  create(conn: Connection, rows: number): Promise<void>;
  writeMix(maxId: number): WriteOperation;
}

async function createOrders(conn: Connection, rows: number): Promise<void> {
  await conn.query(`CREATE TABLE orders (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      account_id INT NOT NULL,
      code VARCHAR(64) NOT NULL,
      created_at DATETIME(6) NOT NULL,
      amount DECIMAL(12,2) NOT NULL,
      note TEXT NULL,
      PRIMARY KEY (id),
      KEY ix_account (account_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`);
  await seedRows(conn, rows, (from, to) => `INSERT INTO orders (account_id, code, created_at, amount, note)
    SELECT (seq * 7919) % 50000, CONCAT('ord-', LEFT(MD5(seq), 16)), TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND,
           (seq % 100000) / 100, IF(seq % 5 = 0, NULL, REPEAT(CONCAT('note ', seq, ' '), 1 + seq % 12))
      FROM seq_${from}_to_${to}`);
}

function ordersWriteMix(maxId: number): WriteOperation {
  return oltpWriteMix(maxId, {
    update: (conn, id) => conn.query('UPDATE orders SET amount = amount + 1.25 WHERE id = ?', [id]),
    insert: (conn, _id, tag) => conn.query("INSERT INTO orders (account_id, code, created_at, amount, note) VALUES (?, ?, NOW(6), 9.99, 'new')",
      [Math.floor(Math.random() * 50_000), `new-${tag}`]),
    delete: (conn, id) => conn.query('DELETE FROM orders WHERE id = ?', [id]),
    touch: (conn, id) => conn.query("UPDATE orders SET account_id = account_id + 1, note = CONCAT(COALESCE(note, ''), '!') WHERE id = ?", [id]),
  });
}

export const BENCH_TABLES: Record<string, BenchTable> = {
  users: { name: 'users', alter: 'ADD COLUMN last_login_at DATETIME NULL', create: createUsers, writeMix: usersWriteMix },
  orders: { name: 'orders', alter: 'ADD COLUMN shipped_at DATETIME NULL', create: createOrders, writeMix: ordersWriteMix },
};

export function benchTable(name: string | undefined): BenchTable {
  const table = BENCH_TABLES[name ?? 'users'];
  if (!table) throw new Error(`BENCH_TABLE must be one of ${Object.keys(BENCH_TABLES).join(', ')}`);
  return table;
}
