// How rows move from the original table to the shadow table: which columns are shared (by name or
// explicit rename), which are dropped, and which unique key identifies a row in both.
import { MigrationRefused } from './errors.ts';
import type { ColumnInfo, IndexInfo, TableInfo } from '../db/table-info.ts';

export interface SharedColumn {
  old: ColumnInfo;
  new: ColumnInfo;
}

export interface SharedKey {
  /** Index name in the original table (used for FORCE INDEX while copying). */
  oldIndex: string;
  /** Key columns, original names. */
  oldColumns: string[];
  /** Key columns, shadow-table names. */
  newColumns: string[];
  /** The matching unique index in the shadow table. */
  newIndex: string;
}

export interface ColumnMapping {
  /** Shared columns in original order. */
  shared: SharedColumn[];
  /** Shared columns the copy and the applier write (generated columns in the shadow table are never written). */
  written: SharedColumn[];
  dropped: string[];
  key: SharedKey;
}

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
/**
 * Key values are read back from the binlog: only types it decodes exactly (not TIME, FLOAT, BIT…),
 * and strings only in character sets it decodes losslessly (its latin1 decoder maps five bytes to U+FFFD).
 */
const KEY_TYPES = new Set([...INTEGER_TYPES, 'decimal', 'char', 'varchar', 'binary', 'varbinary', 'date', 'datetime',
  'timestamp', 'year', 'enum']);
const KEY_CHARSETS = new Set(['utf8mb4', 'utf8mb3', 'utf8', 'ascii', 'binary']);

/** Key values must sort and compare identically in both tables, or chunk ranges would not line up. */
function sameOrdering(a: ColumnInfo, b: ColumnInfo): boolean {
  if (INTEGER_TYPES.has(a.dataType) && INTEGER_TYPES.has(b.dataType)) return true;
  return a.columnType === b.columnType && a.collation === b.collation;
}

function usableKey(index: IndexInfo, table: TableInfo): boolean {
  if (!index.unique || index.partial || index.columns.length === 0) return false;
  return index.columns.every((name) => {
    const col = table.columns.find((c) => c.name === name);
    return col !== undefined && !col.nullable && KEY_TYPES.has(col.dataType) && (!col.charset || KEY_CHARSETS.has(col.charset));
  });
}

/**
 * The copied columns behind a whole (not prefix or expression) index of the shadow table, in key
 * order; undefined when a part is a column the copy does not write (new, or generated).
 */
export function copiedKeyColumns(index: IndexInfo, mapping: ColumnMapping): SharedColumn[] | undefined {
  if (index.partial) return undefined;
  const parts = index.columns.map((name) => mapping.written.find((c) => c.new.name === name));
  return parts.every((c) => c !== undefined) ? parts as SharedColumn[] : undefined;
}

export function buildColumnMapping(original: TableInfo, shadow: TableInfo, renames: Map<string, string>): ColumnMapping {
  for (const [from, to] of renames) {
    if (!original.columns.some((c) => c.name === from)) throw new MigrationRefused(`renamed column \`${from}\` does not exist`);
    if (!shadow.columns.some((c) => c.name === to)) throw new MigrationRefused(`rename target \`${to}\` is not in the altered table`);
  }
  const shared: SharedColumn[] = [];
  const dropped: string[] = [];
  for (const old of original.columns) {
    const target = shadow.columns.find((c) => c.name === (renames.get(old.name) ?? old.name));
    if (target) shared.push({ old, new: target });
    else dropped.push(old.name);
  }
  const written = shared.filter((c) => !c.new.generated);
  const newNameOf = new Map(shared.map((c) => [c.old.name, c.new]));

  const candidates: SharedKey[] = [];
  for (const index of original.indexes.filter((i) => usableKey(i, original))) {
    const mapped = index.columns.map((c) => newNameOf.get(c));
    if (mapped.some((c) => c === undefined)) continue;
    const newColumns = mapped.map((c) => c!.name);
    const newIndex = shadow.indexes.find((i) => usableKey(i, shadow)
      && i.columns.length === newColumns.length && i.columns.every((c, n) => c === newColumns[n]));
    const ordered = index.columns.every((c) => {
      const oldCol = original.columns.find((x) => x.name === c)!;
      return sameOrdering(oldCol, newNameOf.get(c)!);
    });
    if (newIndex && ordered) candidates.push({ oldIndex: index.name, oldColumns: index.columns, newColumns, newIndex: newIndex.name });
  }
  if (candidates.length === 0) {
    throw new MigrationRefused(
      `no shared key: \`${original.name}\` needs a PRIMARY KEY or a UNIQUE key on NOT NULL integer, date or utf8/ascii/binary string columns `
      + 'that exists, unchanged, '
      + 'both before and after the ALTER (add one first, or change the key in a separate migration)');
  }
  // PRIMARY first (indexes are read PRIMARY-first), then the narrowest key.
  const key = candidates.find((c) => c.oldIndex === 'PRIMARY')
    ?? candidates.sort((a, b) => a.oldColumns.length - b.oldColumns.length)[0];
  return { shared, written, dropped, key };
}
