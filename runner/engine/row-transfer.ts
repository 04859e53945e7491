// The one way rows reach the shadow table, for the copy (a key range) and the binlog applier (a list
// of changed keys) alike: delete those keys from the shadow table, then re-read them from the original
// with a locking read (the latest committed rows, held until commit) and insert them. The server does
// every conversion exactly as a native ALTER would, and only key values ever come from the binlog.
import type { Connection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { quoteIdent, quoteList } from '../db/quote.ts';
import type { ColumnMapping } from './column-mapping.ts';
import type { KeyPredicate } from './key-sql.ts';
import { isInterruption, MigrationFailed } from './errors.ts';
import { isDataError, isRetryable, isSharedKeyRace } from '../db/mysql-errors.ts';
import { backoff } from './retry.ts';
import type { TableNames } from './table-names.ts';

export interface TransferScope {
  /** Selects the rows in the original table (original column names). */
  original: KeyPredicate;
  /** Selects the same keys in the shadow table (shadow column names). */
  shadow: KeyPredicate;
}

async function deleteKeys(conn: Connection, names: TableNames, scope: TransferScope): Promise<void> {
  await conn.query(`DELETE FROM ${quoteIdent(names.shadow)} WHERE ${scope.shadow.sql}`, scope.shadow.params);
}

/**
 * Runs inside the caller's transaction. `REPLACE` is only a fallback of the applier: it resolves a
 * collision on a secondary unique key by removing the other row, which verification then catches
 * unless that row's own pending change restores it.
 */
export async function transferRows(conn: Connection, names: TableNames, mapping: ColumnMapping, scope: TransferScope,
  verb: 'INSERT' | 'REPLACE' = 'INSERT'): Promise<number> {
  await deleteKeys(conn, names, scope);
  const [result] = await conn.query<ResultSetHeader>(
    `${verb} INTO ${quoteIdent(names.shadow)} (${quoteList(mapping.written.map((c) => c.new.name))})
     SELECT ${quoteList(mapping.written.map((c) => c.old.name))}
       FROM ${quoteIdent(names.original)} FORCE INDEX (${quoteIdent(mapping.key.oldIndex)})
      WHERE ${scope.original.sql} LOCK IN SHARE MODE`, scope.original.params);
  return result.affectedRows;
}

/**
 * The same transfer when only `reader` may read the original (it holds LOCK TABLES during the
 * cut-over): the rows travel through the client, losslessly, and `writer` writes the shadow table.
 * Type conversions then start from text, so the cut-over verifies every row moved this way.
 */
export async function transferRowsThroughClient(reader: Connection, writer: Connection, names: TableNames,
  mapping: ColumnMapping, scope: TransferScope, verb: 'INSERT' | 'REPLACE' = 'INSERT'): Promise<void> {
  const [rows] = await reader.query<RowDataPacket[]>({
    sql: `SELECT ${quoteList(mapping.written.map((c) => c.old.name))} FROM ${quoteIdent(names.original)}
           WHERE ${scope.original.sql}`,
    rowsAsArray: true,
  }, scope.original.params);
  await deleteKeys(writer, names, scope);
  if (rows.length > 0) {
    await writer.query(`${verb} INTO ${quoteIdent(names.shadow)} (${quoteList(mapping.written.map((c) => c.new.name))}) VALUES ?`,
      [rows]);
  }
}

const MAX_ATTEMPTS = 30;

/**
 * Runs `work` in one transaction on `conn`, rolling back and retrying what is only contention:
 * deadlocks, lock-wait timeouts, and the copy and applier writing the same shared key at once.
 * Anything else is rethrown for the caller to judge.
 */
export async function inTransferTransaction<T>(conn: Connection, mapping: ColumnMapping, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      await conn.query('BEGIN');
      const result = await work();
      await conn.query('COMMIT');
      return result;
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      if ((isRetryable(err) || isSharedKeyRace(err, mapping.key.newIndex)) && attempt < MAX_ATTEMPTS) {
        await backoff(attempt);
        continue;
      }
      throw err;
    }
  }
}

/** A failed transfer, named for what it was doing (`rows` says whose rows, for values that do not fit). */
export function transferFailure(err: unknown, action: string, rows: string): Error {
  if (err instanceof MigrationFailed || isInterruption(err)) return err as Error;
  if (isDataError(err)) return new MigrationFailed(`${rows} does not fit the new definition: ${(err as Error).message}`);
  return new MigrationFailed(`${action} failed: ${(err as Error).message}`);
}
