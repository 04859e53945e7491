// The changelog table carries heartbeats (binlog and replica lag) and markers: a marker written
// after some moment and then seen in the stream proves every earlier change has been applied.
import { randomUUID } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { quoteIdent } from '../db/quote.ts';
import type { TableNames } from './table-names.ts';

export const HEARTBEAT_ID = 1;

export async function createChangelog(conn: Connection, names: TableNames): Promise<void> {
  await conn.query(`DROP TABLE IF EXISTS ${quoteIdent(names.changelog)}`);
  await conn.query(`CREATE TABLE ${quoteIdent(names.changelog)} (
    id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    hint VARCHAR(32) NOT NULL,
    value VARCHAR(255) NOT NULL
  ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='schemabot changelog'`);
}

/** Writes the heartbeat row: the writer's clock in ms, read back from the stream or a replica. */
export async function writeHeartbeat(conn: Connection, names: TableNames): Promise<void> {
  await conn.query(`REPLACE INTO ${quoteIdent(names.changelog)} (id, hint, value) VALUES (?, 'heartbeat', ?)`,
    [HEARTBEAT_ID, String(Date.now())]);
}

/** The last heartbeat written to an existing changelog (the writer's clock, ms), if any. */
export async function lastHeartbeat(conn: Connection, names: TableNames): Promise<number | undefined> {
  const [rows] = await conn.query<RowDataPacket[]>(`SELECT value FROM ${quoteIdent(names.changelog)} WHERE id = ?`, [HEARTBEAT_ID])
    .catch(() => [[] as RowDataPacket[]]);
  return rows.length > 0 ? Number(rows[0].value) : undefined;
}

export async function writeMarker(conn: Connection, names: TableNames, token = randomUUID()): Promise<string> {
  await conn.query(`INSERT INTO ${quoteIdent(names.changelog)} (hint, value) VALUES ('marker', ?)`, [token]);
  return token;
}
