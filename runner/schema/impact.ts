// What a change costs on the live server: rows and bytes touched, how it will run, disk headroom for a
// rebuild, and an ETA from a copy rate measured on this server with a sample of the table's own rows
// (only when the sample stays out of the binlog). Sizes come from the tablespace file, which is
// current, not from index statistics, which can be days old.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { quoteIdent, quoteList } from '../db/quote.ts';
import { readTableInfo } from '../db/table-info.ts';
import type { TableChange } from './diff.ts';
import { foreignKeys, type TableModel } from './table-model.ts';
import type { Algorithm } from './verify-changes.ts';

/** `copy`: the server's own table copy, blocking writes (tables an online migration cannot take). */
export type Method = 'create' | 'drop' | 'instant' | 'inplace' | 'online-migration' | 'copy';

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
  /** Where the ETA's rate comes from: a sample of this table, or an assumed rate (tiny table, or binlog on). */
  rateSource?: 'measured' | 'assumed';
  /** Where the byte sizes come from: the tablespace file (current) or the table status (MyISAM, Aria: exact). */
  sizeSource?: 'tablespace' | 'table-status';
  /** Why a table copy cannot run as an online migration (method `copy`). */
  blockingReason?: string;
}

const SAMPLE_ROWS = 20_000;

interface TableSize {
  rows: number;
  dataBytes: number;
  indexBytes: number;
  /** The tablespace file (file-per-table), current even when statistics are stale. */
  fileBytes: number;
}

/**
 * Rows (InnoDB keeps the count current between statistics runs) and bytes. InnoDB's DATA_LENGTH and
 * INDEX_LENGTH are only as fresh as the last statistics run: when the tablespace file is larger, its
 * size is split between data and indexes in the proportion the statistics saw.
 */
async function tableSize(conn: Connection, schema: string, table: string): Promise<TableSize & { source: Impact['sizeSource'] }> {
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
  let dataBytes = Number(rows[0]?.DATA_LENGTH ?? 0);
  let indexBytes = Number(rows[0]?.INDEX_LENGTH ?? 0);
  if (fileBytes > dataBytes + indexBytes) {
    const dataShare = dataBytes + indexBytes > 0 ? dataBytes / (dataBytes + indexBytes) : 1;
    dataBytes = Math.round(fileBytes * dataShare);
    indexBytes = fileBytes - dataBytes;
  }
  return { rows: Number(rows[0]?.TABLE_ROWS ?? 0), dataBytes, indexBytes, fileBytes, source: fileBytes > 0 ? 'tablespace' : 'table-status' };
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

/**
 * Why the server's table copy cannot be replaced by an online migration: the engine needs InnoDB on
 * both sides, and a table swap would break foreign keys (its own or those referencing it).
 */
export function blockingCopyReason(step: TableChange, live: Map<string, TableModel>): string | undefined {
  const engine = (m?: TableModel) => m?.options.get('ENGINE') ?? 'InnoDB';
  if (engine(step.before) !== 'InnoDB' || engine(step.after) !== 'InnoDB') {
    return `ENGINE=${engine(step.before)} → ${engine(step.after)}: an online migration needs InnoDB on both sides`;
  }
  const referenced = [...live.values()].some((t) => t.name !== step.table && foreignKeys(t).some((k) => k.table === step.table && k.schema === undefined));
  if (referenced || foreignKeys(step.before ?? step.after!).length > 0 || foreignKeys(step.after ?? step.before!).length > 0) {
    return 'foreign keys: a table swap would break them, so the server copies the table itself';
  }
  return undefined;
}

export interface ImpactContext {
  /** The scratch schema a sample is copied into to measure the rate. */
  rateSchema: string;
  /** False when the plan's connection writes to the binlog: then no sample is copied. */
  offBinlog: boolean;
  /** Rates already measured, by table. */
  rates: Map<string, number | undefined>;
  live: Map<string, TableModel>;
}

export async function estimateImpact(conn: Connection, liveSchema: string, change: TableChange, algorithm: Algorithm | undefined,
  context: ImpactContext): Promise<Impact> {
  if (change.kind === 'create') return { rows: 0, dataBytes: 0, indexBytes: 0, method: 'create', headroomBytes: 0, etaSeconds: 0 };
  // A step on a table this plan creates (a key added after a cycle): it has no rows yet.
  if (!context.live.has(change.table)) return { rows: 0, dataBytes: 0, indexBytes: 0, method: 'instant', headroomBytes: 0, etaSeconds: 0 };
  const { fileBytes, source, ...size } = await tableSize(conn, liveSchema, change.table);
  if (change.kind === 'drop') return { ...size, sizeSource: source, method: 'drop', headroomBytes: 0, etaSeconds: 0 };
  if (algorithm === 'INSTANT') return { ...size, sizeSource: source, method: 'instant', headroomBytes: 0, etaSeconds: 0 };
  if (!context.rates.has(change.table)) {
    context.rates.set(change.table, context.offBinlog ? await measureCopyRate(conn, liveSchema, context.rateSchema, change.table) : undefined);
  }
  const measured = context.rates.get(change.table);
  const blockingReason = algorithm === 'COPY' ? blockingCopyReason(change, context.live) : undefined;
  return {
    ...size,
    sizeSource: source,
    method: algorithm === 'INPLACE' ? 'inplace' : blockingReason ? 'copy' : 'online-migration',
    headroomBytes: Math.max(size.dataBytes + size.indexBytes, fileBytes),
    etaSeconds: size.rows / (measured ?? DEFAULT_ROWS_PER_SECOND),
    measuredRowsPerSecond: measured,
    rateSource: measured ? 'measured' : 'assumed',
    blockingReason,
  };
}

const LOCKS: Record<Method, string> = {
  create: 'nothing (a new table)',
  drop: 'a metadata lock for a moment (the table is renamed aside, kept for revert)',
  instant: 'a metadata lock for a moment (metadata only)',
  inplace: 'reads and writes continue; metadata locks for a moment at start and end',
  'online-migration': 'reads and writes continue during the copy; writes wait for a moment at the cut-over',
  copy: 'writes are blocked for the whole table copy (reads continue)',
};

export function locksOf(impact: Impact): string {
  return LOCKS[impact.method];
}
