// The sample `users` table of schemas/, filled with generated rows, and a realistic write mix on it.
import { readFileSync } from 'node:fs';
import type { Connection } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import { parseDsn, type ConnectionTarget } from '../db/dsn.ts';
import type { EmbeddedServer } from './mariadb.ts';
import type { WriteOperation } from './write-load.ts';

const SCHEMA_FILE = new URL('../../schemas/users.sql', import.meta.url);

const SEED_BATCH = 50_000;

/** Inserts rows 1 to `rows` in batches: `insert(from, to)` selects them from `seq_<from>_to_<to>` (MariaDB's SEQUENCE engine). */
export async function seedRows(conn: Connection, rows: number, insert: (from: number, to: number) => string): Promise<void> {
  for (let from = 1; from <= rows; from += SEED_BATCH) await conn.query(insert(from, Math.min(rows, from + SEED_BATCH - 1)));
}

/** Creates `users` from schemas/users.sql and inserts `rows` rows. */
export async function createUsers(conn: Connection, rows: number): Promise<void> {
  await conn.query('DROP TABLE IF EXISTS users');
  await conn.query(readFileSync(SCHEMA_FILE, 'utf8'));
  await seedRows(conn, rows, (from, to) => `INSERT INTO users (email, name, status, balance, created_at)
    SELECT CONCAT('user', seq, '@example.com'), CONCAT('User ', seq), ELT(1 + seq % 3, 'active', 'suspended', 'deleted'),
           (seq % 100000) / 100, TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND
      FROM seq_${from}_to_${to}`);
}

/** Creates `database` on the server with a table made by `create` (the sample `users` by default) of `rows` rows in it. */
export async function createSampleDatabase(server: EmbeddedServer, database: string, rows: number,
  create: (conn: Connection, rows: number) => Promise<void> = createUsers): Promise<ConnectionTarget> {
  const admin = await connect(parseDsn(server.dsn('mysql')));
  await admin.query(`CREATE DATABASE \`${database}\``);
  await admin.end();
  const target = parseDsn(server.dsn(database));
  const conn = await connect(target);
  await create(conn, rows);
  await conn.end();
  return target;
}

/** One write on row `id`; `tag` is unique to the write, for values that must be new. */
type Write = (conn: Connection, id: number, tag: string) => Promise<unknown>;

/**
 * The mix a busy OLTP table sees, on random ids up to `maxId`: half `update`, a quarter `insert`,
 * 15% `delete` and 10% `touch` (an update of other columns).
 */
export function oltpWriteMix(maxId: number, writes: { update: Write; insert: Write; delete: Write; touch: Write }): WriteOperation {
  let next = 0;
  return async (conn, writer) => {
    const id = 1 + Math.floor(Math.random() * maxId);
    const dice = Math.random();
    const write = dice < 0.5 ? writes.update : dice < 0.75 ? writes.insert : dice < 0.9 ? writes.delete : writes.touch;
    await write(conn, id, `${writer}-${++next}-${Date.now()}`);
  };
}

/** The OLTP mix on `users`. */
export function usersWriteMix(maxId: number): WriteOperation {
  return oltpWriteMix(maxId, {
    update: (conn, id) => conn.query('UPDATE users SET balance = balance + 1.25 WHERE id = ?', [id]),
    insert: (conn, _id, tag) => conn.query('INSERT INTO users (email, name) VALUES (?, ?)', [`new-${tag}@example.com`, `New ${tag}`]),
    delete: (conn, id) => conn.query('DELETE FROM users WHERE id = ?', [id]),
    touch: (conn, id) => conn.query("UPDATE users SET status = 'suspended', name = CONCAT(name, '!') WHERE id = ?", [id]),
  });
}
