// What a change costs on the live server: rows and bytes touched, how it will run, disk headroom for a
// rebuild, and an ETA from a copy rate measured on this server with a sample of the table's own rows.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { quoteIdent, quoteList } from '../db/quote.ts';
import { readTableInfo } from '../db/table-info.ts';
import type { TableChange } from './diff.ts';
import type { Algorithm } from './verify-changes.ts';

export type Method = 'create' | 'drop' | 'instant' | 'inplace' | 'online-migration';

export interface Impact {
  rows: number;
  dataBytes: number;
  indexBytes: number;
  method: Method;
  /** Extra disk the rebuild needs while it runs: a full copy (the tablespace file, or data + indexes). */
  headroomBytes: number;
  etaSeconds: number;
  /** Rows per second measured by copying a sample of this table, when a copy is needed. */
  measuredRowsPerSecond?: number;
}

const SAMPLE_ROWS = 20_000;

interface TableSize {
  rows: number;
  dataBytes: number;
  indexBytes: number;
  /** The tablespace file (file-per-table), current even when statistics are stale. */
  fileBytes: number;
}

async function tableSize(conn: Connection, schema: string, table: string): Promise<TableSize> {
  const [rows] = await conn.query<RowDataPacket[]>(
    'SELECT TABLE_ROWS, DATA_LENGTH, INDEX_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [schema, table]);
  // MariaDB: INNODB_SYS_TABLESPACES; MySQL 8: INNODB_TABLESPACES. Unknown elsewhere.
  let fileBytes = 0;
  for (const view of ['INNODB_SYS_TABLESPACES', 'INNODB_TABLESPACES']) {
    const [files] = await conn.query<RowDataPacket[]>(
      `SELECT FILE_SIZE FROM information_schema.${view} WHERE NAME = ?`, [`${schema}/${table}`]).catch(() => [[]] as never);
    if (files.length > 0) {
      fileBytes = Number(files[0].FILE_SIZE);
      break;
    }
  }
  return {
    rows: Number(rows[0]?.TABLE_ROWS ?? 0), dataBytes: Number(rows[0]?.DATA_LENGTH ?? 0),
    indexBytes: Number(rows[0]?.INDEX_LENGTH ?? 0), fileBytes,
  };
}

/** Copies up to SAMPLE_ROWS rows of the live table into a scratch copy and times it. */
async function measureCopyRate(conn: Connection, liveSchema: string, scratchSchema: string, table: string): Promise<number | undefined> {
  const scratch = `${quoteIdent(scratchSchema)}.${quoteIdent(table)}`;
  await conn.query(`CREATE TABLE ${scratch} LIKE ${quoteIdent(liveSchema)}.${quoteIdent(table)}`);
  try {
    const columns = quoteList((await readTableInfo(conn, liveSchema, table)).columns.filter((c) => !c.generated).map((c) => c.name));
    const started = performance.now();
    const [result] = await conn.query<RowDataPacket[]>(
      `INSERT INTO ${scratch} (${columns}) SELECT ${columns} FROM ${quoteIdent(liveSchema)}.${quoteIdent(table)} LIMIT ${SAMPLE_ROWS}`);
    const seconds = (performance.now() - started) / 1000;
    const copied = Number((result as unknown as { affectedRows: number }).affectedRows);
    return copied >= 1000 && seconds > 0 ? copied / seconds : undefined;
  } finally {
    await conn.query(`DROP TABLE ${scratch}`);
  }
}

/** Copy rate assumed when the table is too small to measure (the engine's rate on 2 cores). */
const DEFAULT_ROWS_PER_SECOND = 300_000;

export async function estimateImpact(conn: Connection, liveSchema: string, scratchSchema: string, change: TableChange,
  algorithm: Algorithm | undefined): Promise<Impact> {
  if (change.kind === 'create') return { rows: 0, dataBytes: 0, indexBytes: 0, method: 'create', headroomBytes: 0, etaSeconds: 0 };
  const { fileBytes, ...size } = await tableSize(conn, liveSchema, change.table);
  if (change.kind === 'drop') return { ...size, method: 'drop', headroomBytes: 0, etaSeconds: 0 };
  if (algorithm === 'INSTANT') return { ...size, method: 'instant', headroomBytes: 0, etaSeconds: 0 };
  const measured = await measureCopyRate(conn, liveSchema, scratchSchema, change.table);
  const rate = measured ?? DEFAULT_ROWS_PER_SECOND;
  return {
    ...size,
    method: algorithm === 'INPLACE' ? 'inplace' : 'online-migration',
    headroomBytes: Math.max(size.dataBytes + size.indexBytes, fileBytes),
    etaSeconds: size.rows / rate,
    measuredRowsPerSecond: measured,
  };
}
