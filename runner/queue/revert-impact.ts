// What a revert will cost, said before it starts: data in columns the deploy added, values that would
// no longer fit, duplicates for unique keys that come back, tables that come back or go away. Also
// refuses what cannot be reverted (in-place ALTERs, a kept table already gone).
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { quoteIdent, quoteList } from '../db/quote.ts';
import { analyzeAlter } from '../engine/alter-text.ts';
import { buildColumnMapping } from '../engine/column-mapping.ts';
import { readTableInfo, tableExists, type TableInfo } from '../db/table-info.ts';
import { droppedTableName, tableNames } from '../engine/table-names.ts';
import { BadInput } from './deploy-model.ts';
import type { MigrationRow } from './state-store.ts';

/** Column renames of a swap back: the forward ALTER's renames, inverted when going back to the old table. */
export function swapBackRenames(alter: string, towardsOriginal: boolean): Map<string, string> {
  const forward = analyzeAlter(alter).renames;
  return towardsOriginal ? new Map([...forward].map(([from, to]) => [to, from])) : forward;
}

async function count(conn: Connection, sql: string): Promise<number> {
  const [[row]] = await conn.query<RowDataPacket[]>(sql);
  return Number(Object.values(row)[0]);
}

async function swapImpact(conn: Connection, live: TableInfo, kept: TableInfo, renames: Map<string, string>): Promise<string[]> {
  const lines: string[] = [];
  const t = quoteIdent(live.name);
  const mapping = buildColumnMapping(live, kept, renames);
  for (const column of mapping.dropped) {
    const n = await count(conn, `SELECT COUNT(*) FROM ${t} WHERE ${quoteIdent(column)} IS NOT NULL`);
    lines.push(`column \`${column}\` of \`${live.name}\` is not in the table swapped back: its values are lost (non-NULL in ${n} row(s))`);
  }
  const written = new Set(mapping.written.map((c) => c.new.name));
  for (const column of kept.columns.filter((c) => !written.has(c.name) && !c.generated)) {
    lines.push(`column \`${column.name}\` comes back ${column.hasDefault ? 'with its default in rows written since the cut-over'
      : 'NOT NULL without a default: rows inserted since the cut-over have no value for it, so the revert fails before swapping'}`);
  }
  for (const c of mapping.written.filter((w) => w.old.columnType !== w.new.columnType)) {
    lines.push(`\`${c.old.name}\` goes back from ${c.old.columnType} to ${c.new.columnType}: a value that does not fit fails the revert before swapping`);
  }
  for (const index of kept.indexes.filter((i) => i.unique && !i.partial)) {
    const columns = index.columns.map((name) => mapping.written.find((w) => w.new.name === name)?.old.name);
    if (columns.some((c) => c === undefined) || live.indexes.some((i) => i.unique && i.columns.join() === columns.join())) continue;
    const duplicates = await count(conn, `SELECT COUNT(*) FROM (SELECT 1 FROM ${t} GROUP BY ${quoteList(columns as string[])} HAVING COUNT(*) > 1) d`);
    lines.push(`unique key \`${index.name}\` comes back: ${duplicates === 0 ? 'no duplicates today' : `${duplicates} duplicated value(s) today, so the revert fails before swapping`}`);
  }
  return lines;
}

/**
 * The impact of swapping each change back, in the order the revert runs (reverse plan order).
 * `towardsOriginal` is true for a revert, false when a reverted deploy is applied again.
 */
export async function revertImpact(conn: Connection, database: string, deployId: number, migrations: MigrationRow[],
  towardsOriginal: boolean): Promise<string[]> {
  const lines: string[] = [];
  for (const m of [...migrations].reverse()) {
    const kept = droppedTableName(m.table, deployId);
    const present = async (table: string) => tableExists(conn, database, table);
    switch (m.method) {
      case 'direct':
        throw new BadInput(`\`${m.table}\` was altered in place (${m.algorithm}): such a change is not reverted automatically; `
          + 'open a pull request that changes it back');
      case 'online': {
        const names = tableNames(database, m.table);
        if (!(await present(names.old))) throw new BadInput(`\`${names.old}\` is gone (its retention ended): nothing to swap back`);
        if (!m.cutoverPosition) throw new BadInput(`\`${m.table}\` has no recorded cut-over position`);
        const [live, old] = [await readTableInfo(conn, database, m.table), await readTableInfo(conn, database, names.old)];
        const impact = await swapImpact(conn, live, old, swapBackRenames(m.alter!, towardsOriginal));
        lines.push(`\`${m.table}\` is swapped with \`${names.old}\` after replaying the writes since the cut-over`, ...impact);
        break;
      }
      case 'drop':
      case 'create': {
        const comesBack = (m.method === 'drop') === towardsOriginal;
        const from = comesBack ? kept : m.table;
        if (!(await present(from))) throw new BadInput(`\`${from}\` is gone: \`${m.table}\` cannot be ${comesBack ? 'brought back' : 'set aside'}`);
        const rows = await count(conn, `SELECT COUNT(*) FROM ${quoteIdent(from)}`);
        lines.push(comesBack ? `\`${m.table}\` comes back with its ${rows} row(s) as of its removal`
          : `\`${m.table}\` is set aside as \`${kept}\` with its ${rows} row(s) (kept for the retention period)`);
        break;
      }
    }
  }
  return lines;
}
