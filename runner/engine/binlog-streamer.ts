// Tails the binlog (zongji) for the original table and the changelog table, and queues their row
// changes in binlog order. Started before the copy so that no change can slip between copy and stream.
import ZongJi from '@vlasky/zongji';
import type { ConnectionTarget } from '../db/dsn.ts';
import { IDENT, unquoteIdent } from '../db/quote.ts';
import { maskSql } from '../db/sql-text.ts';
import { MigrationInterrupted } from './errors.ts';
import { isConnectionLoss } from '../db/mysql-errors.ts';

export type Row = Record<string, unknown>;

export interface RowChange {
  /** Empty for a `position` entry. */
  table: string;
  /**
   * A transaction boundary: every change queued before this entry belongs to transactions that end
   * at or before `position`, so a resume from here neither skips nor repeats a whole transaction.
   */
  position?: BinlogPosition;
  /** A DDL statement on the table (by someone else): the migration cannot continue. */
  ddl?: string;
  /** A write to the table logged as a statement (a session with binlog_format=STATEMENT): its rows are invisible. */
  statementWrite?: string;
  /** Absent for inserts. */
  before?: Row;
  /** Absent for deletes. */
  after?: Row;
}

export interface BinlogPosition {
  file: string;
  position: number;
}

interface ZongJiEvent {
  getEventName(): string;
  tableId: number;
  tableMap: Record<number, { tableName: string }>;
  rows: Array<Row | { before: Row; after: Row }>;
  /** Query events */
  schema?: string;
  query?: string;
}

const PART = IDENT;
const NAME = `(${PART}(?:\\s*\\.\\s*${PART})?)`;
const LIST = `(${NAME}(?:\\s*,\\s*${NAME})*)`;
const TARGETS: RegExp[] = [
  new RegExp(`^ALTER\\s+(?:ONLINE\\s+|IGNORE\\s+)*TABLE\\s+(?:IF\\s+EXISTS\\s+)?${NAME}`, 'i'),
  new RegExp(`^TRUNCATE\\s+(?:TABLE\\s+)?${NAME}`, 'i'),
  new RegExp(`^DROP\\s+(?:TEMPORARY\\s+)?TABLES?\\s+(?:IF\\s+EXISTS\\s+)?${LIST}`, 'i'),
  new RegExp(`^RENAME\\s+TABLES?\\s+(.*)$`, 'is'),
  new RegExp(`^CREATE\\s+OR\\s+REPLACE\\s+(?:TEMPORARY\\s+)?TABLE\\s+${NAME}`, 'i'),
  new RegExp(`^CREATE\\s+(?:OR\\s+REPLACE\\s+)?(?:UNIQUE\\s+|FULLTEXT\\s+|SPATIAL\\s+)?INDEX\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${PART}\\s+(?:USING\\s+\\w+\\s+)?ON\\s+${NAME}`, 'i'),
  new RegExp(`^DROP\\s+INDEX\\s+(?:IF\\s+EXISTS\\s+)?${PART}\\s+ON\\s+${NAME}`, 'i'),
];

/** The tables a DDL statement changes, as [schema or undefined, table]; empty when it is not such DDL. */
export function ddlTargets(query: string): Array<[string | undefined, string]> {
  const text = maskSql(query).trim().replace(/^SET\s+STATEMENT\s+[\s\S]+?\s+FOR\s+/i, '');
  for (const re of TARGETS) {
    const m = re.exec(text);
    if (!m) continue;
    const names = [...m[1].matchAll(new RegExp(NAME, 'g'))].map((n) => n[1])
      .filter((n) => !/^(TO|IF|EXISTS)$/i.test(n));
    return names.map((n) => {
      const parts = [...n.matchAll(new RegExp(PART, 'g'))].map((p) => unquoteIdent(p[0]));
      return parts.length === 2 ? [parts[0], parts[1]] : [undefined, parts[0]];
    });
  }
  return [];
}

/**
 * Whether `query` is an INSERT/REPLACE/UPDATE/DELETE/LOAD DATA naming `schema`.`table` before its SET,
 * WHERE, VALUES or SELECT part (where the tables it writes are named).
 */
export function isStatementWriteOn(query: string, defaultSchema: string | undefined, schema: string, table: string): boolean {
  const text = maskSql(query).trim();
  if (!/^(?:INSERT|REPLACE|UPDATE|DELETE|LOAD\s+DATA)\b/i.test(text)) return false;
  const head = text.split(/\b(?:SET|WHERE|VALUES?|SELECT)\b/i)[0];
  return [...head.matchAll(new RegExp(NAME, 'g'))].some((m) => {
    const parts = [...m[1].matchAll(new RegExp(PART, 'g'))].map((p) => unquoteIdent(p[0]));
    const [s, t] = parts.length === 2 ? parts : [defaultSchema, parts[0]];
    return t === table && s === schema;
  });
}

/** Whether `query`, run with default schema `defaultSchema`, is DDL that changes `schema`.`table`. */
export function isDdlOn(query: string, defaultSchema: string | undefined, schema: string, table: string): boolean {
  return ddlTargets(query).some(([s, t]) => t === table && (s ?? defaultSchema) === schema);
}

/**
 * Pause reading the binlog socket when this many changes wait to be applied (only key columns are
 * kept, so a change costs a few dozen bytes). A long pause would let the server time the stream out.
 */
const HIGH_WATER = 1_000_000;
const LOW_WATER = 250_000;

export class BinlogStreamer {
  private readonly zongji: ZongJi;
  private queue: RowChange[] = [];
  private waiter: (() => void) | undefined;
  private paused = false;
  private failure: Error | undefined;

  /**
   * `tables[0]` is the original table (watched for DDL too); `columns` names, per table, the columns
   * worth keeping from each row image (the applier only needs keys).
   */
  constructor(target: ConnectionTarget, private readonly schema: string, private readonly tables: string[], private readonly serverId: number,
    private readonly columns: Record<string, string[]>) {
    this.zongji = new ZongJi({
      host: target.host, port: target.port, user: target.user, password: target.password,
      socketPath: target.socketPath, dateStrings: true, timezone: 'Z',
    } as ConstructorParameters<typeof ZongJi>[0]);
  }

  async start(from: BinlogPosition): Promise<void> {
    const ready = new Promise<void>((resolve, reject) => {
      this.zongji.once('ready', () => resolve());
      this.zongji.once('error', reject);
    });
    this.zongji.on('error', (err: Error) => this.fail(err));
    this.zongji.on('binlog', (event: unknown) => this.onEvent(event as ZongJiEvent));
    this.zongji.start({
      serverId: this.serverId,
      filename: from.file,
      position: from.position,
      includeEvents: ['tablemap', 'writerows', 'updaterows', 'deleterows', 'query', 'xid'],
      includeSchema: { [this.schema]: this.tables },
    });
    await ready;
    // Its control connection sits idle for as long as no new table appears: a short server
    // wait_timeout must not end it during a postponed cut-over.
    const ctrl = this.zongji.ctrlConnection;
    if (ctrl) {
      await new Promise<void>((resolve, reject) => {
        ctrl.query('SET SESSION wait_timeout = GREATEST(@@session.wait_timeout, 28800)', (err: Error | null) => (err ? reject(err) : resolve()));
      });
    }
  }

  private onEvent(event: ZongJiEvent): void {
    const name = event.getEventName();
    if (name === 'tablemap') return;
    if (name === 'xid' || (name === 'query' && /^\s*COMMIT\s*$/i.test(event.query ?? ''))) {
      this.pushPosition();
      return;
    }
    if (name === 'query') {
      const original = this.tables[0];
      if (event.query && isDdlOn(event.query, event.schema, this.schema, original)) {
        this.queue.push({ table: original, ddl: event.query });
        this.wake();
      } else if (event.query && isStatementWriteOn(event.query, event.schema, this.schema, original)) {
        this.queue.push({ table: original, statementWrite: event.query });
        this.wake();
      }
      return;
    }
    const table = event.tableMap[event.tableId]?.tableName;
    if (!table) return;
    const keep = this.columns[table] ?? [];
    const project = (row: Row): Row => Object.fromEntries(keep.map((c) => [c, row[c]]));
    for (const row of event.rows) {
      if (name === 'writerows') this.queue.push({ table, after: project(row as Row) });
      else if (name === 'deleterows') this.queue.push({ table, before: project(row as Row) });
      else if (name === 'updaterows') {
        const { before, after } = row as { before: Row; after: Row };
        this.queue.push({ table, before: project(before), after: project(after) });
      }
    }
    if (this.queue.length >= HIGH_WATER && !this.paused) {
      this.paused = true;
      this.zongji.connection?.pause();
    }
    this.wake();
  }

  /**
   * zongji advances its resume pair only at commit markers (never inside a transaction), so at a
   * commit it names the position right after that transaction. Consecutive boundaries collapse.
   */
  private pushPosition(): void {
    const { filename, position } = this.zongji.options as { filename?: string; position?: number };
    if (!filename || !position) return;
    const entry: RowChange = { table: '', position: { file: filename, position } };
    const last = this.queue.at(-1);
    if (last?.position) this.queue[this.queue.length - 1] = entry;
    else this.queue.push(entry);
    this.wake();
  }

  private fail(err: Error): void {
    // A lost stream is no verdict: a durable migration resumes from its checkpoint on a new stream.
    this.failure ??= isConnectionLoss(err) ? new MigrationInterrupted(`binlog stream lost: ${err.message}`)
      : new Error(`binlog stream failed: ${err.message}`);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Ends a `take` that is waiting for changes now, with whatever is queued (possibly nothing). */
  interruptTake(): void {
    this.wake();
  }

  /** Waits until changes are queued (or the timeout passes) and takes up to `max` of them, in order. */
  async take(max: number, timeoutMs: number): Promise<RowChange[]> {
    if (this.failure) throw this.failure;
    if (this.queue.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { this.waiter = undefined; resolve(); }, timeoutMs);
        this.waiter = () => { clearTimeout(timer); resolve(); };
      });
      if (this.failure) throw this.failure;
    }
    const batch = this.queue.length <= max ? this.queue : this.queue.slice(0, max);
    this.queue = this.queue.length <= max ? [] : this.queue.slice(max);
    if (this.paused && this.queue.length <= LOW_WATER) {
      this.paused = false;
      this.zongji.connection?.resume();
    }
    return batch;
  }

  /**
   * Waits (bounded) until DDL on `table` is queued, and returns the changes queued before it; undefined
   * when no such DDL arrived in time.
   */
  async changesBeforeDdl(table: string, timeoutMs: number): Promise<RowChange[] | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const at = this.queue.findIndex((c) => c.ddl && c.table === table);
      if (at >= 0) return this.queue.slice(0, at);
      await new Promise((r) => setTimeout(r, 10));
    }
    return undefined;
  }

  /** Puts changes taken but not applied back at the head of the queue. */
  requeue(changes: RowChange[]): void {
    if (changes.length > 0) this.queue = [...changes, ...this.queue];
  }

  stop(): void {
    this.zongji.removeAllListeners('binlog');
    this.zongji.on('error', () => undefined);
    this.zongji.stop();
    this.wake();
  }
}
