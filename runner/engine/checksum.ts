// Proves the shadow table equals the original before cut-over: both tables are read in consistent
// snapshots opened at the same moment (writers held for the few ms the applier needs to catch up),
// and compared by row count and an order-independent hash over the shared columns. Changed columns
// are cast back to their original type, so a conversion that altered a value (rounding, truncation)
// shows up as a mismatch instead of passing silently.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { quoteIdent } from '../db/quote.ts';
import type { ColumnMapping, SharedColumn } from './column-mapping.ts';
import { adaptRangeRows, keyAfterRows, MIN_RANGE_ROWS, type TableKey } from './key-ranges.ts';
import { keyAfter, keyIn, keyRange, type KeyPredicate, type KeyValues } from './key-sql.ts';
import type { ColumnInfo } from '../db/table-info.ts';

export interface TableChecksum {
  rows: number;
  hash: string;
}

const INTEGER = /^(tinyint|smallint|mediumint|int|integer|bigint|year)$/;
const TEXT = /^(char|varchar|tinytext|text|mediumtext|longtext|enum|set|json)$/;
const BINARY = /^(binary|varbinary|tinyblob|blob|mediumblob|longblob)$/;

function fractional(columnType: string): string {
  const m = /\((\d+)\)/.exec(columnType);
  return m ? `(${m[1]})` : '';
}

/** The CAST target that represents a value of the original column's type. */
function castTarget(old: ColumnInfo): string | undefined {
  const t = old.dataType;
  if (t === 'bit') return 'UNSIGNED';
  if (INTEGER.test(t)) return /unsigned/i.test(old.columnType) ? 'UNSIGNED' : 'SIGNED';
  if (t === 'decimal') return `DECIMAL${/\(\d+,\d+\)/.exec(old.columnType)?.[0] ?? ''}`;
  if (t === 'float') return 'FLOAT';
  if (t === 'double') return 'DOUBLE';
  if (t === 'date') return 'DATE';
  if (t === 'datetime' || t === 'timestamp') return `DATETIME${fractional(old.columnType)}`;
  if (t === 'time') return `TIME${fractional(old.columnType)}`;
  if (TEXT.test(t)) return old.charset ? `CHAR CHARACTER SET ${old.charset}` : 'CHAR';
  if (BINARY.test(t)) return 'BINARY';
  return undefined;
}

function unchanged(c: SharedColumn): boolean {
  return c.old.columnType.toLowerCase() === c.new.columnType.toLowerCase() && c.old.collation === c.new.collation;
}

function valueExpr(column: string, target: string | undefined, cast: boolean): string {
  const id = quoteIdent(column);
  return cast && target ? `CAST(${id} AS ${target})` : id;
}

/** Types whose text form is plain ASCII: they join the row image as they are, without a binary cast. */
const ASCII_TEXT = /^(tinyint|smallint|mediumint|int|integer|bigint|year|bit|decimal|float|double|date|datetime|timestamp|time)$/;

interface ImagePart {
  expr: string;
  /**
   * Cast to binary, so that no collations can clash: strings (unless all share one collation and
   * none is converted) and other types whose text is not plain ASCII.
   */
  binary: boolean;
  nullable: boolean;
}

/**
 * One string per row: every value, then a NULL map of the columns that can hold NULL (CONCAT_WS skips
 * NULLs). Casts and NULL flags are most of the hashing time, so there are none that cannot matter.
 */
function rowImageSql(parts: ImagePart[]): string {
  const values = parts.map((p) => (p.binary ? `CAST(${p.expr} AS BINARY)` : p.expr));
  const nullable = parts.filter((p) => p.nullable);
  const nulls = nullable.length > 0 ? [`CONCAT(${nullable.map((p) => `ISNULL(${p.expr})`).join(', ')})`] : [];
  return `CONCAT_WS('#', ${[...values, ...nulls].join(', ')})`;
}

/**
 * Row-image expressions over the columns the migration writes: [original side, shadow side].
 * Generated columns of the new table are the server's to compute, so they are not compared.
 */
export function rowImageExpressions(mapping: ColumnMapping): [string, string] {
  const oldParts: ImagePart[] = [];
  const newParts: ImagePart[] = [];
  const collations = new Set(mapping.written.filter((c) => TEXT.test(c.old.dataType)).flatMap((c) => [c.old.collation, c.new.collation]));
  // Strings of one collation, none converted, concatenate without a clash: their casts can go.
  const castStrings = collations.size > 1 || mapping.written.some((c) => TEXT.test(c.old.dataType) && !unchanged(c));
  for (const c of mapping.written) {
    const target = castTarget(c.old);
    const isBit = c.old.dataType === 'bit';
    const binary = !ASCII_TEXT.test(c.old.dataType) && (castStrings || !TEXT.test(c.old.dataType));
    const nullable = c.old.nullable || c.new.nullable;
    oldParts.push({ expr: valueExpr(c.old.name, target, isBit), binary, nullable });
    newParts.push({ expr: valueExpr(c.new.name, target, isBit || !unchanged(c)), binary, nullable });
  }
  return [rowImageSql(oldParts), rowImageSql(newParts)];
}

/**
 * 64 bits of order-independent hash per table. CRC32 and CRC32C (different polynomials) cost a
 * seventh of MD5; servers without CRC32C (MySQL, MariaDB < 10.8) use half an MD5. CRCs are linear
 * over XOR (values swapped between two rows of equal length would cancel out), so they are summed.
 */
export type TableHash = 'crc32+crc32c' | 'md5';

export async function pickTableHash(conn: Connection): Promise<TableHash> {
  return conn.query("SELECT CRC32C('')").then(() => 'crc32+crc32c' as const, () => 'md5' as const);
}

/**
 * The server does not share a repeated expression, and building the row image costs more than both
 * CRCs: the image is built once per row into a user variable that the second CRC reads (MariaDB
 * evaluates an addition's operands left to right; only MariaDB 10.8+ has CRC32C).
 */
function aggregateSql(hash: TableHash, rowImage: string): string {
  return hash === 'crc32+crc32c'
    ? `SUM(CRC32(@schemabot_row := ${rowImage}) + (CRC32C(@schemabot_row) << 32)) AS x1`
    : `BIT_XOR(CAST(CONV(LEFT(MD5(${rowImage}), 16), 16, 10) AS UNSIGNED)) AS x1`;
}

/** Count and hash of `table`'s rows, or of those `where` selects (an empty set hashes to 0). */
export async function tableChecksum(conn: Connection, table: string, rowImage: string, hash: TableHash,
  where?: KeyPredicate): Promise<TableChecksum> {
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT COUNT(*) AS n, ${aggregateSql(hash, rowImage)} FROM ${quoteIdent(table)}${where ? ` WHERE ${where.sql}` : ''}`,
    where?.params);
  return { rows: Number(rows[0].n), hash: String(BigInt(rows[0].x1 ?? 0)) };
}

/** The checksum of two disjoint parts of a table: sums add up, XORs combine by XOR. */
function combine(hash: TableHash, a: TableChecksum, b: TableChecksum): TableChecksum {
  const [x, y] = [BigInt(a.hash), BigInt(b.hash)];
  return { rows: a.rows + b.rows, hash: String(hash === 'md5' ? x ^ y : x + y) };
}

/**
 * The same checksum, a key range per statement (each about `targetMs`). Between statements the
 * reader holds no lock on the table, so DDL on it (an index build) waits for one range at most.
 * Only for a table nothing writes meanwhile: the ranges are read at different moments.
 */
export async function rangedTableChecksum(conn: Connection, table: string, key: TableKey, rowImage: string, hash: TableHash,
  targetMs: number): Promise<TableChecksum> {
  let total: TableChecksum = { rows: 0, hash: '0' };
  let after: KeyValues | undefined;
  for (let rows = MIN_RANGE_ROWS; ;) {
    const started = performance.now();
    const upper = await keyAfterRows(conn, table, key, after, rows);
    const range = upper ? keyRange(key.columns, after, upper) : after && keyAfter(key.columns, after);
    total = combine(hash, total, await tableChecksum(conn, table, rowImage, hash, range));
    if (!upper) return total;
    after = upper;
    rows = adaptRangeRows(rows, performance.now() - started, targetMs);
  }
}

/** The row images of `keys` in `table`, as sorted hex strings (rows compare equal whatever their order). */
export async function keyImages(conn: Connection, table: string, columns: string[], image: string, keys: KeyValues[]): Promise<string[]> {
  const where = keyIn(columns, keys);
  const [rows] = await conn.query<RowDataPacket[]>({ sql: `SELECT ${image} FROM ${quoteIdent(table)} WHERE ${where.sql}`, rowsAsArray: true },
    where.params);
  return rows.map((r) => Buffer.from(r[0] as Buffer).toString('hex')).sort();
}
