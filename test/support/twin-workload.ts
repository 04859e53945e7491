// Random writes applied identically to a table and its twin, one transaction each (table first, so
// row locks on the table order the twin's writes the same way). After the online migration, the
// twin gets the same ALTER natively: both tables must then be equal, row for row.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { WriteOperation } from '../../runner/embedded/write-load.ts';
import { quoteIdent, quoteList } from '../../runner/db/quote.ts';
import type { ColumnInfo, TableInfo } from '../../runner/db/table-info.ts';
import { comparableCreateTable } from '../../runner/schema/table-model.ts';
import { randomValue, seededRandom, type Random } from './random-values.ts';

export type ValueOverrides = Record<string, (rnd: Random) => unknown>;

export interface TwinWorkloadOptions {
  table: TableInfo;
  twin: string;
  keyColumns: string[];
  /** Also change key values (a delete plus insert in the binlog). */
  keyChanges: boolean;
  overrides?: ValueOverrides;
  seed: number;
  /** Session settings for writers, e.g. a time zone. */
  sessionSql?: string;
}

function valueFor(col: ColumnInfo, rnd: Random, overrides: ValueOverrides | undefined): unknown {
  const override = overrides?.[col.name];
  if (!override) return randomValue(col, rnd);
  return col.nullable && rnd() < 0.15 ? null : override(rnd);
}

export function twinWorkload(options: TwinWorkloadOptions): WriteOperation {
  const writable = options.table.columns.filter((c) => !c.generated);
  const nonKey = writable.filter((c) => !options.keyColumns.includes(c.name));
  const keyCols = writable.filter((c) => options.keyColumns.includes(c.name));
  const tables = [options.table.name, options.twin].map(quoteIdent);
  const keyWhere = options.keyColumns.map((c) => `${quoteIdent(c)} <=> ?`).join(' AND ');
  const randoms = new Map<number, Random>();
  const prepared = new WeakSet<Connection>();

  const both = async (conn: Connection, sql: (table: string) => string, params: unknown[]) => {
    for (const table of tables) await conn.query(sql(table), params);
  };

  return async (conn, writer) => {
    if (!prepared.has(conn)) {
      if (options.sessionSql) await conn.query(options.sessionSql);
      prepared.add(conn);
    }
    let rnd = randoms.get(writer);
    if (!rnd) randoms.set(writer, (rnd = seededRandom(options.seed * 100 + writer)));
    const dice = rnd();
    await conn.query('BEGIN');
    try {
      if (dice < 0.35) {
        const values = writable.map((c) => valueFor(c, rnd, options.overrides));
        await both(conn, (t) => `INSERT INTO ${t} (${quoteList(writable.map((c) => c.name))}) VALUES (?)`, [values]);
      } else {
        const [picked] = await conn.query<RowDataPacket[]>({
          sql: `SELECT ${quoteList(options.keyColumns)} FROM ${tables[0]} ORDER BY ${quoteList(options.keyColumns)} LIMIT 1 OFFSET ?`,
          rowsAsArray: true,
        }, [Math.floor(rnd() * 500)]);
        if (picked.length > 0) {
          const key = picked[0] as unknown as unknown[];
          if (dice < 0.7 && nonKey.length > 0) {
            const cols = nonKey.filter(() => rnd() < 0.5).slice(0, 3);
            if (cols.length === 0) cols.push(nonKey[0]);
            const sets = cols.map((c) => `${quoteIdent(c.name)} = ?`).join(', ');
            await both(conn, (t) => `UPDATE ${t} SET ${sets} WHERE ${keyWhere}`, [...cols.map((c) => valueFor(c, rnd, options.overrides)), ...key]);
          } else if (dice < 0.8 && options.keyChanges) {
            const col = keyCols[Math.floor(rnd() * keyCols.length)];
            await both(conn, (t) => `UPDATE ${t} SET ${quoteIdent(col.name)} = ? WHERE ${keyWhere}`, [valueFor(col, rnd, options.overrides), ...key]);
          } else {
            await both(conn, (t) => `DELETE FROM ${t} WHERE ${keyWhere}`, key);
          }
        }
      }
      await conn.query('COMMIT');
    } catch (err) {
      await conn.query('ROLLBACK');
      throw err;
    }
  };
}

/** Every row of a table, in key order, as comparable text. */
export async function tableRows(conn: Connection, table: string, orderBy: string[]): Promise<string[]> {
  const [rows] = await conn.query<RowDataPacket[]>({
    sql: `SELECT * FROM ${quoteIdent(table)} ORDER BY ${quoteList(orderBy)}`, rowsAsArray: true,
  });
  return rows.map((r) => JSON.stringify(r));
}

/** SHOW CREATE TABLE without the table name and AUTO_INCREMENT counter, for comparing definitions. */
export async function definitionOf(conn: Connection, table: string): Promise<string> {
  const [[row]] = await conn.query<RowDataPacket[]>(`SHOW CREATE TABLE ${quoteIdent(table)}`);
  return comparableCreateTable(String(row['Create Table']));
}
