import type { Connection, RowDataPacket } from 'mysql2/promise';
import { quoteIdent } from './quote.ts';

export interface ColumnInfo {
  name: string;
  /** Full column type, e.g. `decimal(10,2) unsigned`, `enum('a','b')`. */
  columnType: string;
  dataType: string;
  nullable: boolean;
  generated: boolean;
  /** Has a DEFAULT (or AUTO_INCREMENT), so an INSERT may omit it. */
  hasDefault: boolean;
  charset: string | null;
  collation: string | null;
}

export interface IndexInfo {
  name: string;
  unique: boolean;
  columns: string[];
  /** True when some key part is a prefix or an expression: such keys cannot drive a copy. */
  partial: boolean;
}

export interface TableInfo {
  schema: string;
  name: string;
  columns: ColumnInfo[];
  indexes: IndexInfo[];
}

export async function tableExists(conn: Connection, schema: string, table: string): Promise<boolean> {
  const [rows] = await conn.query<RowDataPacket[]>(
    'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [schema, table]);
  return rows.length > 0;
}

export async function readTableInfo(conn: Connection, schema: string, table: string): Promise<TableInfo> {
  const [cols] = await conn.query<RowDataPacket[]>(
    `SELECT COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, IS_NULLABLE, EXTRA, COLUMN_DEFAULT, GENERATION_EXPRESSION,
            CHARACTER_SET_NAME, COLLATION_NAME
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [schema, table]);
  if (cols.length === 0) throw new Error(`table ${schema}.${table} does not exist`);
  const columns: ColumnInfo[] = cols.map((c) => ({
    name: c.COLUMN_NAME,
    columnType: c.COLUMN_TYPE,
    dataType: String(c.DATA_TYPE).toLowerCase(),
    nullable: c.IS_NULLABLE === 'YES',
    generated: /VIRTUAL|STORED|PERSISTENT/i.test(c.EXTRA ?? '') && Boolean(c.GENERATION_EXPRESSION),
    hasDefault: c.COLUMN_DEFAULT !== null || /auto_increment/i.test(c.EXTRA ?? '') || c.IS_NULLABLE === 'YES',
    charset: c.CHARACTER_SET_NAME,
    collation: c.COLLATION_NAME,
  }));
  const [stats] = await conn.query<RowDataPacket[]>(
    `SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART
       FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
      ORDER BY INDEX_NAME, SEQ_IN_INDEX`, [schema, table]);
  const byName = new Map<string, IndexInfo>();
  for (const s of stats) {
    let index = byName.get(s.INDEX_NAME);
    if (!index) {
      index = { name: s.INDEX_NAME, unique: Number(s.NON_UNIQUE) === 0, columns: [], partial: false };
      byName.set(s.INDEX_NAME, index);
    }
    if (s.COLUMN_NAME == null || s.SUB_PART != null) index.partial = true;
    if (s.COLUMN_NAME != null) index.columns.push(s.COLUMN_NAME);
  }
  const indexes = [...byName.values()].sort((a, b) => (a.name === 'PRIMARY' ? -1 : b.name === 'PRIMARY' ? 1 : 0));
  return { schema, name: table, columns, indexes };
}

export async function listTriggers(conn: Connection, schema: string, table: string): Promise<string[]> {
  const [rows] = await conn.query<RowDataPacket[]>(
    'SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?',
    [schema, table]);
  return rows.map((r) => r.TRIGGER_NAME as string);
}

/** Foreign keys declared on the table, and those in other tables that reference it. */
export async function listForeignKeys(conn: Connection, schema: string, table: string): Promise<string[]> {
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT CONSTRAINT_NAME, TABLE_NAME, REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS
      WHERE (CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?) OR (UNIQUE_CONSTRAINT_SCHEMA = ? AND REFERENCED_TABLE_NAME = ?)`,
    [schema, table, schema, table]);
  return rows.map((r) => `${r.CONSTRAINT_NAME} (${r.TABLE_NAME} → ${r.REFERENCED_TABLE_NAME})`);
}

export async function showCreateTable(conn: Connection, table: string): Promise<string> {
  const [rows] = await conn.query<RowDataPacket[]>(`SHOW CREATE TABLE ${quoteIdent(table)}`);
  return rows[0]['Create Table'] as string;
}
