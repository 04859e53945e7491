// Applies the original table's binlog row changes to the shadow table, in order and in batches.
// Within a batch only the last image of each key matters (row images are full), so a batch becomes
// one DELETE of every touched key plus one multi-row INSERT of the surviving images.
import type { Connection } from 'mysql2/promise';
import { quoteIdent, quoteList } from '../db/quote.ts';
import type { BinlogStreamer, Row, RowChange } from './binlog-streamer.ts';
import type { ColumnMapping } from './column-mapping.ts';
import { MigrationFailed } from './errors.ts';
import { keyIn, type KeyValues } from './key-sql.ts';
import { isRetryable, mysqlErrno } from './mysql-errors.ts';
import type { TableNames } from './table-names.ts';

const TAKE_MAX = 20_000;
const STATEMENT_ROWS = 1_000;
const MAX_ATTEMPTS = 8;

interface PendingImage {
  key: KeyValues;
  /** Undefined when the key's last change was a delete. */
  row?: Row;
}

/** Binlog values → SQL parameters (zongji returns JSON documents on MySQL as objects). */
function toParam(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) return JSON.stringify(value);
  return value;
}

function keyString(key: KeyValues): string {
  return JSON.stringify(key, (_k, v) => (v && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('hex') : v));
}

export class BinlogApplier {
  rowsApplied = 0;
  /** Milliseconds between writing a heartbeat and applying it. */
  lagMs = 0;
  /** Unique-key conflicts met while applying; the final verification decides whether they lost rows. */
  readonly conflicts: string[] = [];
  private readonly seenMarkers = new Set<string>();
  private readonly markerWaiters = new Map<string, () => void>();
  private stopToken: string | undefined;
  private stopped = false;
  private failure: Error | undefined;
  private loop: Promise<void> | undefined;
  private failureListeners: Array<(err: Error) => void> = [];

  constructor(
    private readonly conn: Connection,
    private readonly streamer: BinlogStreamer,
    private readonly names: TableNames,
    private readonly mapping: ColumnMapping,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  onFailure(listener: (err: Error) => void): void {
    this.failureListeners.push(listener);
  }

  get error(): Error | undefined {
    return this.failure;
  }

  private async run(): Promise<void> {
    try {
      while (!this.stopped) {
        const changes = await this.streamer.take(TAKE_MAX, 100);
        await this.process(changes);
      }
    } catch (err) {
      this.failure = err instanceof MigrationFailed ? err : new MigrationFailed(`binlog applier: ${(err as Error).message}`);
      for (const listener of this.failureListeners) listener(this.failure);
      for (const wake of this.markerWaiters.values()) wake();
    }
  }

  private async process(changes: RowChange[]): Promise<void> {
    const pending = new Map<string, PendingImage>();
    for (const change of changes) {
      if (this.stopped) return;
      if (change.table === this.names.changelog) {
        await this.flush(pending);
        this.onChangelog(change.after);
        continue;
      }
      if (change.table !== this.names.original) continue;
      if (change.before) {
        const key = this.keyOf(change.before);
        pending.set(keyString(key), { key });
      }
      if (change.after) {
        const key = this.keyOf(change.after);
        const id = keyString(key);
        pending.delete(id); // re-insert so the map keeps the order of last change
        pending.set(id, { key, row: change.after });
      }
    }
    await this.flush(pending);
  }

  private keyOf(row: Row): KeyValues {
    return this.mapping.key.oldColumns.map((c) => toParam(row[c]));
  }

  private onChangelog(row: Row | undefined): void {
    if (!row) return;
    if (row.hint === 'heartbeat') this.lagMs = Math.max(0, Date.now() - Number(row.value));
    if (row.hint === 'marker') {
      const token = String(row.value);
      this.seenMarkers.add(token);
      if (token === this.stopToken) this.stopped = true;
      this.markerWaiters.get(token)?.();
    }
  }

  private async flush(pending: Map<string, PendingImage>): Promise<void> {
    if (pending.size === 0) return;
    const images = [...pending.values()];
    pending.clear();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.applyImages(images, 'INSERT');
        break;
      } catch (err) {
        await this.conn.query('ROLLBACK').catch(() => undefined);
        if (mysqlErrno(err) === 1062) {
          // A secondary unique key collides with a row whose own change is still ahead in the stream
          // (or with a real duplicate). REPLACE keeps going; verification before cut-over catches loss.
          this.conflicts.push((err as Error).message);
          await this.applyImages(images, 'REPLACE');
          break;
        }
        if (isRetryable(err) && attempt < MAX_ATTEMPTS) continue;
        throw new MigrationFailed(`applying a binlog change to the shadow table failed: ${(err as Error).message}`);
      }
    }
    this.rowsApplied += images.length;
  }

  private async applyImages(images: PendingImage[], verb: 'INSERT' | 'REPLACE'): Promise<void> {
    const shadow = quoteIdent(this.names.shadow);
    const columns = quoteList(this.mapping.written.map((c) => c.new.name));
    await this.conn.query('BEGIN');
    for (let i = 0; i < images.length; i += STATEMENT_ROWS) {
      const slice = images.slice(i, i + STATEMENT_ROWS);
      const where = keyIn(this.mapping.key.newColumns, slice.map((p) => p.key));
      await this.conn.query(`DELETE FROM ${shadow} WHERE ${where.sql}`, where.params);
      const rows = slice.filter((p) => p.row).map((p) => this.mapping.written.map((c) => toParam(p.row![c.old.name])));
      if (rows.length > 0) await this.conn.query(`${verb} INTO ${shadow} (${columns}) VALUES ?`, [rows]);
    }
    await this.conn.query('COMMIT');
  }

  /** Resolves once the marker has been seen, i.e. every change written before it is applied. */
  async waitForMarker(token: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.seenMarkers.has(token)) {
      if (this.failure) throw this.failure;
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new MigrationFailed(`the binlog applier did not catch up within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 1000));
        this.markerWaiters.set(token, () => { clearTimeout(timer); resolve(); });
      });
    }
    this.markerWaiters.delete(token);
    this.seenMarkers.delete(token);
  }

  /** Stop applying right after this marker: what follows in the stream belongs to the new table. */
  stopAfterMarker(token: string): void {
    if (this.seenMarkers.has(token)) this.stopped = true;
    else this.stopToken = token;
  }

  /** Applies again after a cut-over attempt stopped it at its marker and then gave up. */
  resume(): void {
    this.stopToken = undefined;
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
