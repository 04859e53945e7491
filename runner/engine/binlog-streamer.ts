// Tails the binlog (zongji) for the original table and the changelog table, and queues their row
// changes in binlog order. Started before the copy so that no change can slip between copy and stream.
import ZongJi from '@vlasky/zongji';
import type { ConnectionTarget } from '../db/dsn.ts';

export type Row = Record<string, unknown>;

export interface RowChange {
  table: string;
  /** A DDL statement on the table (by someone else): the migration cannot continue. */
  ddl?: string;
  /** Absent for inserts. */
  before?: Row;
  /** Absent for deletes. */
  after?: Row;
}

export interface BinlogPosition {
  file: string;
  position: number;
}

interface ZongJiRowsEvent {
  getEventName(): string;
  tableId: number;
  tableMap: Record<number, { tableName: string }>;
  rows: Array<Row | { before: Row; after: Row }>;
  /** Query events */
  schema?: string;
  query?: string;
}

const DDL = /^(?:ALTER\s+(?:ONLINE\s+|IGNORE\s+)*TABLE|TRUNCATE|DROP\s+TABLE|RENAME\s+TABLE|CREATE\s+OR\s+REPLACE\s+TABLE)\b/i;

/** Whether `query` (run in `schema`) is DDL that names `schema`.`table`. */
export function isDdlOn(query: string, schema: string, table: string): boolean {
  const text = query.replace(/\/\*[\s\S]*?\*\//g, ' ').trim();
  if (!DDL.test(text)) return false;
  const escaped = table.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const quoted = `\`${escaped.replace(/`/g, '``')}\``;
  const name = new RegExp(`(^|[\\s,(])(?:(?:\`${schema.replace(/`/g, '``')}\`|${schema})\\.)?(?:${quoted}|${escaped}(?![\\w$]))`);
  return name.test(text.replace(DDL, ' '));
}

/** Pause reading the binlog socket when this many changes wait to be applied. */
const HIGH_WATER = 200_000;
const LOW_WATER = 50_000;

export class BinlogStreamer {
  private readonly zongji: ZongJi;
  private queue: RowChange[] = [];
  private waiter: (() => void) | undefined;
  private paused = false;
  private failure: Error | undefined;
  eventsSeen = 0;

  /** `tables[0]` is the original table (watched for DDL too). */
  constructor(target: ConnectionTarget, private readonly schema: string, private readonly tables: string[], private readonly serverId: number) {
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
    this.zongji.on('binlog', (event: unknown) => this.onEvent(event as ZongJiRowsEvent));
    this.zongji.start({
      serverId: this.serverId,
      filename: from.file,
      position: from.position,
      includeEvents: ['tablemap', 'writerows', 'updaterows', 'deleterows', 'query'],
      includeSchema: { [this.schema]: this.tables },
    });
    await ready;
  }

  private onEvent(event: ZongJiRowsEvent): void {
    const name = event.getEventName();
    if (name === 'tablemap') return;
    if (name === 'query') {
      const original = this.tables[0];
      if (event.query && (event.schema === this.schema || event.query.includes(this.schema)) && isDdlOn(event.query, this.schema, original)) {
        this.queue.push({ table: original, ddl: event.query });
        this.wake();
      }
      return;
    }
    const table = event.tableMap[event.tableId]?.tableName;
    if (!table) return;
    this.eventsSeen++;
    for (const row of event.rows) {
      if (name === 'writerows') this.queue.push({ table, after: row as Row });
      else if (name === 'deleterows') this.queue.push({ table, before: row as Row });
      else if (name === 'updaterows') {
        const { before, after } = row as { before: Row; after: Row };
        this.queue.push({ table, before, after });
      }
    }
    if (this.queue.length >= HIGH_WATER && !this.paused) {
      this.paused = true;
      this.zongji.connection?.pause();
    }
    this.wake();
  }

  private fail(err: Error): void {
    this.failure ??= new Error(`binlog stream failed: ${err.message}`);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
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

  /** Puts changes taken but not applied back at the head of the queue. */
  requeue(changes: RowChange[]): void {
    if (changes.length > 0) this.queue = [...changes, ...this.queue];
  }

  get backlog(): number {
    return this.queue.length;
  }

  stop(): void {
    this.zongji.removeAllListeners('binlog');
    this.zongji.on('error', () => undefined);
    this.zongji.stop();
    this.wake();
  }
}
