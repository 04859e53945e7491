// The one way rows reach the shadow table, for the copy (a key range) and the binlog applier (a list
// of changed keys) alike: delete those keys from the shadow table, then re-read them from the original
// with a locking read (the latest committed rows, held until commit) and insert them. The server does
// every conversion exactly as a native ALTER would, and only key values ever come from the binlog.
import type { Connection, ResultSetHeader } from 'mysql2/promise';
import { quoteIdent, quoteList } from '../db/quote.ts';
import type { ColumnMapping } from './column-mapping.ts';
import type { TableNames } from './table-names.ts';

export interface KeyPredicate {
  sql: string;
  params: unknown[];
}

export interface TransferScope {
  /** Selects the rows in the original table (original column names). */
  original: KeyPredicate;
  /** Selects the same keys in the shadow table (shadow column names). */
  shadow: KeyPredicate;
}

/**
 * Runs inside the caller's transaction. `REPLACE` is only a fallback of the applier: it resolves a
 * collision on a secondary unique key by removing the other row, which verification then catches
 * unless that row's own pending change restores it.
 */
export async function transferRows(conn: Connection, names: TableNames, mapping: ColumnMapping, scope: TransferScope,
  verb: 'INSERT' | 'REPLACE' = 'INSERT'): Promise<number> {
  await conn.query(`DELETE FROM ${quoteIdent(names.shadow)} WHERE ${scope.shadow.sql}`, scope.shadow.params);
  const [result] = await conn.query<ResultSetHeader>(
    `${verb} INTO ${quoteIdent(names.shadow)} (${quoteList(mapping.written.map((c) => c.new.name))})
     SELECT ${quoteList(mapping.written.map((c) => c.old.name))}
       FROM ${quoteIdent(names.original)} FORCE INDEX (${quoteIdent(mapping.key.oldIndex)})
      WHERE ${scope.original.sql} LOCK IN SHARE MODE`, scope.original.params);
  return result.affectedRows;
}
