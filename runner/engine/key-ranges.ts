// Walking a table in key order, a range at a time: where the next range ends, and how big the next
// range should be to take about as long as wanted.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { quoteIdent, quoteList } from '../db/quote.ts';
import { keyAfter, keyAtMost, keyOrder, type KeyPredicate, type KeyValues } from './key-sql.ts';

export interface TableKey {
  columns: string[];
  /** The index that orders them (PRIMARY or a unique key). */
  index: string;
}

/** The key `rows` rows past `after` (from the first key without it), not beyond `atMost`; undefined past the end. */
export async function keyAfterRows(conn: Connection, table: string, key: TableKey, after: KeyValues | undefined, rows: number,
  atMost?: KeyValues): Promise<KeyValues | undefined> {
  const conds: KeyPredicate[] = [];
  if (after) conds.push(keyAfter(key.columns, after));
  if (atMost) conds.push(keyAtMost(key.columns, atMost));
  const [found] = await conn.query<RowDataPacket[]>({
    sql: `SELECT ${quoteList(key.columns)} FROM ${quoteIdent(table)} FORCE INDEX (${quoteIdent(key.index)})
           ${conds.length > 0 ? `WHERE ${conds.map((c) => c.sql).join(' AND ')}` : ''} ORDER BY ${keyOrder(key.columns)} LIMIT 1 OFFSET ?`,
    rowsAsArray: true,
  }, [...conds.flatMap((c) => c.params), rows - 1]);
  return found.length > 0 ? (found[0] as unknown as KeyValues) : undefined;
}

export const MIN_RANGE_ROWS = 500;
export const MAX_RANGE_ROWS = 100_000;

/** The next range's size: scaled (at most halved or doubled) towards `targetMs`, within the bounds above. */
export function adaptRangeRows(rows: number, elapsedMs: number, targetMs: number): number {
  const ratio = targetMs / Math.max(elapsedMs, 1);
  const next = Math.round(rows * Math.min(2, Math.max(0.5, ratio)));
  return Math.min(MAX_RANGE_ROWS, Math.max(MIN_RANGE_ROWS, next));
}
