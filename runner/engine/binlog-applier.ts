// Replays the original table's binlog changes into the shadow table, in order and in batches. Only
// the changed keys are taken from the binlog: each batch re-transfers those keys from the original
// (row-transfer.ts), so a key whose row is gone is simply deleted. Row images are never trusted as
// values (zongji mis-decodes e.g. negative TIME(n)), and every conversion is the server's own.
import type { Connection } from 'mysql2/promise';
import { ddlTargets, type BinlogPosition, type BinlogStreamer, type Row, type RowChange } from './binlog-streamer.ts';
import type { CheckpointPort } from './checkpoint.ts';
import type { ColumnMapping } from './column-mapping.ts';
import { isInterruption, MigrationFailed } from './errors.ts';
import { keyIn, type KeyValues } from './key-sql.ts';
import { mysqlErrno } from '../db/mysql-errors.ts';
import { inTransferTransaction, transferFailure, transferRows, transferRowsThroughClient } from './row-transfer.ts';
import type { TableNames } from './table-names.ts';

const TAKE_MAX = 20_000;
const STATEMENT_KEYS = 1_000;
/** Heartbeats are written every 200 ms: none applied for longer than this means the applier is behind. */
const STALE_HEARTBEAT_MS = 1_000;
/** When only other transactions pass by, the applied position is still recorded this often. */
const IDLE_CHECKPOINT_MS = 1_000;

/** Binlog key values → SQL parameters. */
function toParam(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) return JSON.stringify(value);
  return value;
}

/** A RENAME naming both tables: schemabot's own swap of T and its kept original. */
function isSwap(ddl: string, table: string, partner: string): boolean {
  const targets = ddlTargets(ddl).map(([, t]) => t);
  return /^\s*RENAME\s/i.test(ddl) && targets.includes(table) && targets.includes(partner);
}

function keyString(key: KeyValues): string {
  return JSON.stringify(key, (_k, v) => (v && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('hex') : v));
}

export class BinlogApplier {
  rowsApplied = 0;
  /** Milliseconds between writing the last applied heartbeat and applying it. */
  private lagAtApply = 0;
  /** When the last heartbeat was applied (heartbeats come every 200 ms while the applier keeps up). */
  private heartbeatAppliedAt = Date.now();
  /** With `trackKeys`: every key applied, for a verification limited to what changed. */
  readonly appliedKeys = new Map<string, KeyValues>();
  /** Unique-key conflicts met while applying; the final verification decides whether they lost rows. */
  readonly conflicts: string[] = [];
  /** During the cut-over drain: the connection holding LOCK TABLES, the only one that may read T. */
  private lockedReader: Connection | undefined;
  private readonly drained = new Map<string, KeyValues>();
  /** During the drain: whether each changed key's last change left a row (false after a delete). */
  private readonly drainPresence = new Map<string, boolean>();
  private readonly seenMarkers = new Set<string>();
  private readonly markerWaiters = new Map<string, () => void>();
  private stopToken: string | undefined;
  private stopped = false;
  private failure: Error | undefined;
  private loop: Promise<void> | undefined;
  private holdRequest: { reached: () => void; released: Promise<void>; release: () => void } | undefined;
  /** The latest transaction boundary taken from the stream, and whether it is recorded yet. */
  private position: BinlogPosition | undefined;
  private positionSaved = true;
  private positionSavedAt = 0;

  constructor(private readonly conn: Connection, private readonly streamer: BinlogStreamer,
    private readonly names: TableNames, private readonly mapping: ColumnMapping, private readonly checkpoints?: CheckpointPort,
    private readonly swapPartner?: string, private readonly trackKeys = false) {}

  start(): void {
    this.loop = this.run();
  }

  /**
   * How far behind the applier is, ms: the last heartbeat's delay, or, when no heartbeat has been
   * applied for a while (a blocked or backlogged applier), at least the time since then.
   */
  get lagMs(): number {
    return Math.max(this.lagAtApply, Date.now() - this.heartbeatAppliedAt - STALE_HEARTBEAT_MS);
  }

  get error(): Error | undefined {
    return this.failure;
  }

  private async run(): Promise<void> {
    try {
      while (!this.stopped) {
        if (this.holdRequest) {
          this.holdRequest.reached();
          await this.holdRequest.released;
          continue;
        }
        await this.process(await this.streamer.take(TAKE_MAX, 100));
        if (!this.positionSaved) await this.flush(new Map());
      }
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    this.failure ??= err instanceof MigrationFailed || isInterruption(err)
      ? err as Error : new MigrationFailed(`binlog applier: ${(err as Error).message}`);
    for (const wake of this.markerWaiters.values()) wake();
    this.holdRequest?.reached();
  }

  private async process(changes: RowChange[]): Promise<void> {
    const keys = new Map<string, KeyValues>();
    for (const [i, change] of changes.entries()) {
      if (this.stopped) {
        // Past the stop marker: if the cut-over gives up, these still belong to the original table.
        this.streamer.requeue(changes.slice(i));
        return;
      }
      if (change.ddl && this.swapPartner && isSwap(change.ddl, this.names.original, this.swapPartner)) {
        // A swap back streams from the position under the earlier cut-over's lock: that swap comes next.
        continue;
      }
      if (change.statementWrite) {
        throw new MigrationFailed(`a write to \`${this.names.original}\` was logged as a statement, not as rows (a session with `
          + `binlog_format=STATEMENT or MIXED): the migration cannot see which rows it changed: ${change.statementWrite.slice(0, 200)}`);
      }
      if (change.ddl) {
        throw new MigrationFailed(`\`${this.names.original}\` was changed by DDL during the migration: ${change.ddl.slice(0, 200)}`);
      }
      if (change.position) {
        this.position = change.position;
        this.positionSaved = false;
        continue;
      }
      if (change.table === this.names.changelog) {
        await this.flush(keys);
        this.onChangelog(change.after);
        continue;
      }
      if (change.table !== this.names.original) continue;
      for (const row of [change.before, change.after]) {
        if (!row) continue;
        const key = this.keyOf(row);
        const id = keyString(key);
        keys.set(id, key);
        if (this.lockedReader) this.drainPresence.set(id, row === change.after);
      }
    }
    await this.flush(keys);
  }

  private keyOf(row: Row): KeyValues {
    return this.mapping.key.oldColumns.map((c) => toParam(row[c]));
  }

  private onChangelog(row: Row | undefined): void {
    if (!row) return;
    if (row.hint === 'heartbeat') {
      this.lagAtApply = Math.max(0, Date.now() - Number(row.value));
      this.heartbeatAppliedAt = Date.now();
    }
    if (row.hint === 'marker') {
      const token = String(row.value);
      this.seenMarkers.add(token);
      if (token === this.stopToken) this.stopped = true;
      this.markerWaiters.get(token)?.();
    }
  }

  /**
   * Transfers the pending keys and, in the same transaction, records the stream position they bring
   * the shadow table to (the Vitess method): a resume from it neither skips nor loses a change, and
   * changes after it are simply transferred again (key replay is idempotent).
   */
  private async flush(pending: Map<string, KeyValues>): Promise<void> {
    // With rows to write the position goes along for free; alone, it is recorded at most once a second.
    const due = pending.size > 0 || Date.now() - this.positionSavedAt >= IDLE_CHECKPOINT_MS;
    const save = this.checkpoints && !this.positionSaved && this.position && due ? this.position : undefined;
    if (pending.size === 0 && !save) return;
    const keys = [...pending.values()];
    if (this.trackKeys) for (const [id, key] of pending) this.appliedKeys.set(id, key);
    pending.clear();
    for (const verb of ['INSERT', 'REPLACE'] as const) {
      try {
        await inTransferTransaction(this.conn, this.mapping, async () => {
          await this.transfer(keys, verb);
          if (save) await this.checkpoints!.applied(this.conn, save);
        });
        if (save === this.position) this.positionSaved = true;
        this.positionSavedAt = Date.now();
        break;
      } catch (err) {
        if (mysqlErrno(err) !== 1062 || verb === 'REPLACE') {
          throw transferFailure(err, 'applying binlog changes to the shadow table', 'a row written during the migration');
        }
        // A secondary unique key collides with a row whose own change is still ahead in the stream
        // (or with a real duplicate): REPLACE keeps going, verification before cut-over catches loss.
        this.conflicts.push((err as Error).message);
      }
    }
    this.rowsApplied += keys.length;
  }

  /** Runs inside the caller's transaction. */
  private async transfer(keys: KeyValues[], verb: 'INSERT' | 'REPLACE'): Promise<void> {
    for (let i = 0; i < keys.length; i += STATEMENT_KEYS) {
      const slice = keys.slice(i, i + STATEMENT_KEYS);
      const scope = { original: keyIn(this.mapping.key.oldColumns, slice), shadow: keyIn(this.mapping.key.newColumns, slice) };
      if (this.lockedReader) {
        await transferRowsThroughClient(this.lockedReader, this.conn, this.names, this.mapping, scope, verb);
        for (const key of slice) this.drained.set(keyString(key), key);
      } else {
        await transferRows(this.conn, this.names, this.mapping, scope, verb);
      }
    }
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

  /** Pauses between batches; resolves once no batch is in flight. */
  async hold(): Promise<void> {
    if (this.holdRequest || this.stopped || this.failure) return;
    let release!: () => void;
    const released = new Promise<void>((r) => { release = r; });
    const reachedHold = new Promise<void>((reached) => { this.holdRequest = { reached, released, release }; });
    // An idle applier waits a while for changes: it need not, to pause.
    this.streamer.interruptTake();
    await reachedHold;
  }

  /**
   * Continues after `hold`. With `lockedReader` (the cut-over drain) rows are read through the
   * connection that holds LOCK TABLES and remembered for verification; with `stopAfter`, applying
   * ends right after that marker, since later changes belong to the new table.
   */
  release(options: { lockedReader?: Connection; stopAfter?: string } = {}): void {
    this.lockedReader = options.lockedReader;
    this.stopToken = options.stopAfter;
    if (options.stopAfter && this.seenMarkers.has(options.stopAfter)) this.stopped = true;
    const request = this.holdRequest;
    this.holdRequest = undefined;
    request?.release();
  }

  /** Keys written through the locked reader during the drain, and whether a row should exist for each. */
  drainedKeys(): Array<{ key: KeyValues; present: boolean }> {
    return [...this.drained].map(([id, key]) => ({ key, present: this.drainPresence.get(id) ?? true }));
  }

  /**
   * Applies again after a cut-over attempt gave up: the drained keys are transferred once more the
   * normal way (their client-side copies are not trusted), then the stream continues.
   */
  async restart(): Promise<void> {
    this.lockedReader = undefined;
    this.stopToken = undefined;
    if (this.failure) return;
    if (!this.stopped) await this.hold();
    const drained = new Map(this.drained);
    this.drained.clear();
    this.drainPresence.clear();
    try {
      await this.flush(drained);
    } catch (err) {
      // Those keys would stay unverified copies: the migration cannot go on.
      this.fail(err);
    } finally {
      if (this.stopped && !this.failure) {
        this.stopped = false;
        this.loop = this.run();
      } else {
        this.release();
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.release();
    await this.loop;
  }
}
