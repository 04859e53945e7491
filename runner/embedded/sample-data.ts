// The sample `users` table of schemas/, filled with generated rows, and a realistic write mix on it.
import { readFileSync } from 'node:fs';
import type { Connection } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import { parseDsn, type ConnectionTarget } from '../db/dsn.ts';
import type { EmbeddedServer } from './mariadb.ts';
import type { WriteOperation } from './write-load.ts';

const SCHEMA_FILE = new URL('../../schemas/users.sql', import.meta.url);

/** Creates `users` from schemas/users.sql and inserts `rows` rows (MariaDB's SEQUENCE engine). */
export async function createUsers(conn: Connection, rows: number): Promise<void> {
  await conn.query('DROP TABLE IF EXISTS users');
  await conn.query(readFileSync(SCHEMA_FILE, 'utf8'));
  const batch = 50_000;
  for (let from = 1; from <= rows; from += batch) {
    const to = Math.min(rows, from + batch - 1);
    await conn.query(`INSERT INTO users (email, name, status, balance, created_at)
      SELECT CONCAT('user', seq, '@example.com'), CONCAT('User ', seq), ELT(1 + seq % 3, 'active', 'suspended', 'deleted'),
             (seq % 100000) / 100, TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND
        FROM seq_${from}_to_${to}`);
  }
}

/** Creates `database` on the server with the sample `users` table of `rows` rows in it. */
export async function createSampleDatabase(server: EmbeddedServer, database: string, rows: number): Promise<ConnectionTarget> {
  const admin = await connect(parseDsn(server.dsn('mysql')));
  await admin.query(`CREATE DATABASE \`${database}\``);
  await admin.end();
  const target = parseDsn(server.dsn(database));
  const conn = await connect(target);
  await createUsers(conn, rows);
  await conn.end();
  return target;
}

/** Updates, inserts and deletes on random users: the mix a busy OLTP table sees. */
export function usersWriteMix(maxId: number): WriteOperation {
  let next = 0;
  return async (conn, writer) => {
    const id = 1 + Math.floor(Math.random() * maxId);
    const dice = Math.random();
    if (dice < 0.5) {
      await conn.query('UPDATE users SET balance = balance + 1.25 WHERE id = ?', [id]);
    } else if (dice < 0.75) {
      next++;
      await conn.query('INSERT INTO users (email, name) VALUES (?, ?)', [`new-${writer}-${next}-${Date.now()}@example.com`, `New ${next}`]);
    } else if (dice < 0.9) {
      await conn.query('DELETE FROM users WHERE id = ?', [id]);
    } else {
      await conn.query("UPDATE users SET status = 'suspended', name = CONCAT(name, '!') WHERE id = ?", [id]);
    }
  };
}
