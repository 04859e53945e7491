// The copy reads the latest rows of the original; the shadow table holds them as last copied or
// applied. When a value of a new unique key moves from one row to another, the row that gave it up can
// still hold it in the shadow table until the applier replays the move, and the copy of the row that
// took it collides. Refreshing those stale rows from the original, in the copy's own transaction and
// with the chunk's rows locked, is exactly what the applier will do later, so the chunk goes in now.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { quoteIdent, quoteList } from '../db/quote.ts';
import { readTableInfo } from '../db/table-info.ts';
import { copiedKeyColumns, type ColumnMapping } from './column-mapping.ts';
import { keyIn, type KeyValues } from './key-sql.ts';
import { transferRows, type TransferScope } from './row-transfer.ts';
import type { TableNames } from './table-names.ts';

export interface UniqueKeyColumns {
  /** Shadow-table names. */
  newColumns: string[];
  /** The original's columns they are copied from. */
  oldColumns: string[];
}

const KEYS_PER_STATEMENT = 1_000;

/** The shadow table's unique keys other than the shared one whose columns are all copied. */
export async function collidableKeys(conn: Connection, names: TableNames, mapping: ColumnMapping): Promise<UniqueKeyColumns[]> {
  const shadow = await readTableInfo(conn, names.schema, names.shadow);
  const keys: UniqueKeyColumns[] = [];
  for (const index of shadow.indexes) {
    if (!index.unique || index.name === mapping.key.newIndex) continue;
    const parts = copiedKeyColumns(index, mapping);
    if (parts) keys.push({ newColumns: index.columns, oldColumns: parts.map((c) => c.old.name) });
  }
  return keys;
}

/** Runs inside the copy's transaction, before the chunk's rows are transferred. */
export async function refreshCollidingRows(conn: Connection, names: TableNames, mapping: ColumnMapping, chunk: TransferScope,
  keys: UniqueKeyColumns[]): Promise<void> {
  // Holding the chunk's rows fixes the values they can collide with until the chunk is written.
  await conn.query(`SELECT 1 FROM ${quoteIdent(names.original)} FORCE INDEX (${quoteIdent(mapping.key.oldIndex)})
    WHERE ${chunk.original.sql} LOCK IN SHARE MODE`, chunk.original.params);
  for (const key of keys) {
    const [rows] = await conn.query<RowDataPacket[]>({
      sql: `SELECT ${quoteList(mapping.key.newColumns)} FROM ${quoteIdent(names.shadow)}
             WHERE (${quoteList(key.newColumns)}) IN (
               SELECT ${quoteList(key.oldColumns)} FROM ${quoteIdent(names.original)} FORCE INDEX (${quoteIdent(mapping.key.oldIndex)})
                WHERE ${chunk.original.sql})`,
      rowsAsArray: true,
    }, chunk.original.params);
    const stale = rows as unknown as KeyValues[];
    for (let i = 0; i < stale.length; i += KEYS_PER_STATEMENT) {
      const slice = stale.slice(i, i + KEYS_PER_STATEMENT);
      await transferRows(conn, names, mapping, { original: keyIn(mapping.key.oldColumns, slice), shadow: keyIn(mapping.key.newColumns, slice) });
    }
  }
}
