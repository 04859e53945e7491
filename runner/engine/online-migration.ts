// One online migration, gh-ost style: shadow table, binlog stream started before a chunked copy,
// changes applied in order, verification, then an atomic cut-over that keeps the original as `T__old`.
import { createHash, randomInt } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { quoteIdent } from '../db/quote.ts';
import { analyzeAlter } from './alter-text.ts';
import { BinlogApplier } from './binlog-applier.ts';
import { BinlogStreamer, type BinlogPosition } from './binlog-streamer.ts';
import { createChangelog, writeHeartbeat, writeMarker } from './changelog.ts';
import { buildColumnMapping, type ColumnMapping } from './column-mapping.ts';
import { cutOver } from './cut-over.ts';
import { dropDeferrableIndexes, rebuildIndexes } from './deferred-indexes.ts';
import { CutOverAuditFailed, MigrationFailed, MigrationRefused } from './errors.ts';
import { checkBinlog, checkTable } from './preflight.ts';
import { silentProgress, type MigrationState, type ProgressSink, type ProgressSnapshot } from './progress.ts';
import { RowCopier } from './row-copier.ts';
import { readTableInfo, type TableInfo } from './table-info.ts';
import { tableNames, type TableNames } from './table-names.ts';
import { Throttler } from './throttler.ts';
import { verifyShadow } from './verification.ts';

/** Holds the cut-over until released (flag file, signal, API call…). */
export interface CutOverGate {
  describe(): string;
  wait(): Promise<void>;
}

export interface MigrationOptions {
  target: ConnectionTarget;
  table: string;
  /** ALTER clauses, e.g. `ADD COLUMN c INT, MODIFY b BIGINT`. */
  alter: string;
  /** Fixed chunk size; adaptive (aiming at `targetChunkMs`) when absent. */
  chunkSize?: number;
  targetChunkMs?: number;
  maxLagMs?: number;
  maxThreadsRunning?: number;
  replicas?: ConnectionTarget[];
  /** Dropping columns discards their data: refused unless explicitly allowed. */
  allowDropColumns?: boolean;
  postponeCutover?: CutOverGate;
  progress?: ProgressSink;
  signal?: AbortSignal;
  cutOverAttempts?: number;
  lockWaitSeconds?: number;
}

export interface MigrationResult {
  table: string;
  oldTable: string;
  rowsCopied: number;
  binlogRowsApplied: number;
  verifiedRows: number;
  cutOverStallMs: number;
  /** Rows changed just before the cut-over lock, moved and verified under it. */
  cutOverDrainedRows: number;
  verifyLockMs: number;
  copySeconds: number;
  durationSeconds: number;
}

const HEARTBEAT_MS = 200;
const MAX_HEARTBEAT_FAILURES = 50;

async function binlogPosition(conn: Connection): Promise<BinlogPosition> {
  const [rows] = await conn.query<RowDataPacket[]>('SHOW MASTER STATUS');
  if (rows.length === 0) throw new MigrationRefused('binary logging is off: start the server with --log-bin');
  return { file: rows[0].File, position: Number(rows[0].Position) };
}

function lockName(names: TableNames): string {
  return `schemabot:${createHash('sha1').update(`${names.schema}.${names.original}`).digest('hex')}`;
}

/** Refusals that depend on the altered definition. */
function checkMapping(mapping: ColumnMapping, shadow: TableInfo, allowDrop: boolean): void {
  if (mapping.dropped.length > 0 && !allowDrop) {
    throw new MigrationRefused(`the ALTER drops column(s) ${mapping.dropped.map((c) => `\`${c}\``).join(', ')}, discarding their `
      + 'data: deploy code that no longer reads them first, then re-run with --allow-drop-column');
  }
  const written = new Set(mapping.shared.map((c) => c.new.name));
  const impossible = shadow.columns.filter((c) => !written.has(c.name) && !c.generated && !c.hasDefault);
  if (impossible.length > 0) {
    throw new MigrationRefused(`new column(s) ${impossible.map((c) => `\`${c.name}\``).join(', ')} are NOT NULL without a DEFAULT: `
      + 'existing rows would have no value; add a DEFAULT');
  }
}

async function estimateRows(conn: Connection, names: TableNames): Promise<number> {
  const [rows] = await conn.query<RowDataPacket[]>(
    'SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [names.schema, names.original]);
  return Number(rows[0]?.TABLE_ROWS ?? 0);
}

export async function runOnlineMigration(options: MigrationOptions): Promise<MigrationResult> {
  const startedAt = performance.now();
  const target = options.target;
  const names = tableNames(target.database, options.table);
  const progress = options.progress ?? silentProgress;
  const lockWaitSeconds = options.lockWaitSeconds ?? 2;
  const { renames } = analyzeAlter(options.alter);

  const connections: Connection[] = [];
  const open = async (readCommitted = false) => {
    const conn = await connect(target, { readCommitted });
    connections.push(conn);
    return conn;
  };
  const ctrl = await open();
  const timers: NodeJS.Timeout[] = [];
  let streamer: BinlogStreamer | undefined;
  let applier: BinlogApplier | undefined;
  let throttler: Throttler | undefined;
  let cutOverDone = false;
  /** Only the holder of the table's lock may touch its helper tables (another run may own them). */
  let ownsTable = false;
  let state: MigrationState = 'preparing';

  try {
    const [[{ got }]] = await ctrl.query<RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS got', [lockName(names)]);
    if (Number(got) !== 1) throw new MigrationRefused(`another migration is running on \`${names.original}\``);
    ownsTable = true;
    await checkBinlog(ctrl);
    await checkTable(ctrl, names);

    // Leftovers of an interrupted run (we hold the table's lock, so nobody else owns them).
    await ctrl.query(`DROP TABLE IF EXISTS ${quoteIdent(names.shadow)}, ${quoteIdent(names.changelog)}`);
    await ctrl.query(`CREATE TABLE ${quoteIdent(names.shadow)} LIKE ${quoteIdent(names.original)}`);
    try {
      await ctrl.query(`ALTER TABLE ${quoteIdent(names.shadow)} ${options.alter}`);
    } catch (err) {
      throw new MigrationRefused(`the ALTER does not apply: ${(err as Error).message}`);
    }
    const original = await readTableInfo(ctrl, names.schema, names.original);
    const shadowInfo = await readTableInfo(ctrl, names.schema, names.shadow);
    const mapping = buildColumnMapping(original, shadowInfo, renames);
    checkMapping(mapping, shadowInfo, options.allowDropColumns ?? false);
    const deferred = await dropDeferrableIndexes(ctrl, names, mapping, shadowInfo);
    progress.log(`migrating \`${names.original}\` by key ${mapping.key.oldIndex} (${mapping.key.oldColumns.join(', ')}): `
      + `${mapping.written.length} columns copied${mapping.dropped.length ? `, dropping ${mapping.dropped.join(', ')}` : ''}`);

    await createChangelog(ctrl, names);
    const monitor = await open();
    streamer = new BinlogStreamer(target, names.schema, [names.original, names.changelog], randomInt(100_000, 2 ** 31),
      { [names.original]: mapping.key.oldColumns, [names.changelog]: ['hint', 'value'] });
    await streamer.start(await binlogPosition(ctrl));
    // Row transfers use locking reads; READ COMMITTED spares them gap locks (and deadlocks with writers).
    applier = new BinlogApplier(await open(true), streamer, names, mapping);
    applier.start();
    await writeHeartbeat(monitor, names);
    let heartbeatFailures = 0;
    let heartbeatError: Error | undefined;
    timers.push(setInterval(() => void writeHeartbeat(monitor, names).then(() => { heartbeatFailures = 0; }, (err: Error) => {
      // Without heartbeats neither lag nor throttling can be measured.
      if (++heartbeatFailures >= MAX_HEARTBEAT_FAILURES) heartbeatError ??= new MigrationFailed(`heartbeat writes keep failing: ${err.message}`);
    }), HEARTBEAT_MS));

    const replicas = (options.replicas ?? []).map((r) => ({ label: `${r.host}:${r.port}`, target: r }));
    throttler = new Throttler(monitor, replicas, names, {
      maxLagMs: options.maxLagMs ?? 1500, maxThreadsRunning: options.maxThreadsRunning ?? 50,
    });
    await throttler.start();

    const copier = new RowCopier(await open(true), names, mapping, { chunkSize: options.chunkSize, targetChunkMs: options.targetChunkMs ?? 500 });
    await copier.init();
    const rowsTotal = await estimateRows(ctrl, names);
    const activeApplier = applier;
    const activeThrottler = throttler;
    const catchUp = async () => activeApplier.waitForMarker(await writeMarker(ctrl, names), 10 * 60_000);
    const abortIfNeeded = () => {
      if (options.signal?.aborted) throw new MigrationFailed('migration aborted by the operator');
      if (activeApplier.error) throw activeApplier.error;
      if (heartbeatError) throw heartbeatError;
    };

    const copyStartedAt = performance.now();
    let copySeconds = 0;
    const snapshot = (): ProgressSnapshot => {
      const copied = copier.rowsCopied;
      const total = Math.max(rowsTotal, copied);
      const elapsed = ((copySeconds ? copyStartedAt + copySeconds * 1000 : performance.now()) - copyStartedAt) / 1000;
      const rate = elapsed > 0 ? copied / elapsed : 0;
      return {
        state, rowsCopied: copied, rowsTotal: total,
        percent: state === 'copying' ? Math.min(99.9, total ? (copied / total) * 100 : 0) : 100,
        rowsPerSecond: rate, binlogRowsApplied: activeApplier.rowsApplied, lagMs: activeApplier.lagMs,
        etaSeconds: state === 'copying' && rate > 0 ? (total - copied) / rate : undefined,
        throttle: activeThrottler.reason,
      };
    };
    timers.push(setInterval(() => progress.update(snapshot()), 250));

    state = 'copying';
    await copier.run({
      throttle: async () => {
        abortIfNeeded();
        await activeThrottler.wait(() => abortIfNeeded());
      },
      catchUp,
      onChunk: () => {
        abortIfNeeded();
        progress.update(snapshot());
      },
    });
    if (deferred) {
      state = 'building-indexes';
      progress.update(snapshot());
      progress.log(`building ${deferred.names.length} secondary index(es) on the copy: ${deferred.names.join(', ')}`);
      await rebuildIndexes(await open(), names, deferred, activeApplier, catchUp);
    }
    copySeconds = (performance.now() - copyStartedAt) / 1000;
    state = 'catching-up';
    await catchUp();

    if (options.postponeCutover) {
      state = 'ready-to-cutover';
      progress.update(snapshot());
      progress.log(`copy complete; applying the binlog until cut-over is released: ${options.postponeCutover.describe()}`);
      await Promise.race([
        options.postponeCutover.wait(),
        new Promise<never>((_, reject) => {
          const poll = setInterval(() => {
            try { abortIfNeeded(); } catch (err) { clearInterval(poll); reject(err); }
          }, 200);
          timers.push(poll);
        }),
      ]);
    }

    const verify = async () => {
      state = 'verifying';
      progress.update(snapshot());
      const conflicts = activeApplier.conflicts.length;
      await catchUp();
      const result = await verifyShadow(target, ctrl, names, mapping, activeApplier, lockWaitSeconds);
      progress.log(`verified: ${result.original.rows} rows, checksums match`);
      return { result, conflicts };
    };
    let verified = await verify();

    const attempts = options.cutOverAttempts ?? 5;
    let cut = { stallMs: 0, drainedRows: 0 };
    for (let attempt = 1; ; attempt++) {
      try {
        // A unique-key conflict resolved by REPLACE after verification may have removed a row.
        if (applier.conflicts.length > verified.conflicts) verified = await verify();
        state = 'cutting-over';
        progress.update(snapshot());
        cut = await cutOver(target, ctrl, names, mapping, applier,
          { lockWaitSeconds, drainTimeoutMs: 3_000, verifiedConflicts: verified.conflicts });
        break;
      } catch (err) {
        abortIfNeeded();
        if (attempt >= attempts) throw err;
        progress.log(`cut-over attempt ${attempt} failed (${(err as Error).message}); retrying`);
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
    cutOverDone = true;
    await checkCutOver(ctrl, names, shadowInfo);
    await auditSwap(streamer, names);
    state = 'complete';
    progress.update(snapshot());
    progress.log(`cut-over complete: writers blocked ${cut.stallMs.toFixed(1)} ms; original kept as \`${names.old}\``);
    return {
      table: names.original, oldTable: names.old, rowsCopied: copier.rowsCopied, binlogRowsApplied: applier.rowsApplied,
      verifiedRows: verified.result.original.rows, cutOverStallMs: cut.stallMs, cutOverDrainedRows: cut.drainedRows,
      verifyLockMs: verified.result.lockMs, copySeconds,
      durationSeconds: (performance.now() - startedAt) / 1000,
    };
  } finally {
    for (const timer of timers) clearInterval(timer);
    throttler?.stop();
    await applier?.stop().catch(() => undefined);
    try {
      streamer?.stop();
    } catch {
      // The stream is being torn down either way; the helper tables must still go.
    }
    const cleanup = cutOverDone ? [names.changelog] : [names.shadow, names.changelog];
    if (ownsTable) await ctrl.query(`DROP TABLE IF EXISTS ${cleanup.map(quoteIdent).join(', ')}`).catch(() => undefined);
    progress.stop();
    for (const conn of connections) await conn.end().catch(() => undefined);
  }
}

/**
 * Defence in depth: the binlog must show no write to T between the final drain and the RENAME. Such a
 * write would sit only in the old table; say so loudly rather than report a clean migration.
 */
async function auditSwap(streamer: BinlogStreamer, names: TableNames): Promise<void> {
  const between = await streamer.changesBeforeDdl(names.original, 5_000);
  if (between === undefined) throw new CutOverAuditFailed(`the swap happened, but its RENAME was not seen in the binlog within 5 s: `
    + `compare \`${names.original}\` with \`${names.old}\` before dropping the old table`);
  const leaked = between.filter((c) => c.table === names.original && !c.ddl);
  if (leaked.length > 0) {
    throw new CutOverAuditFailed(`the swap happened, but ${leaked.length} row change(s) reached \`${names.old}\` after the final drain: `
      + `they are not in the new \`${names.original}\`; copy them over before dropping \`${names.old}\``);
  }
}

/** After the swap the live table must be exactly the shadow definition, and the original kept aside. */
async function checkCutOver(ctrl: Connection, names: TableNames, expected: TableInfo): Promise<void> {
  const live = await readTableInfo(ctrl, names.schema, names.original);
  const kept = await readTableInfo(ctrl, names.schema, names.old).catch(() => undefined);
  if (JSON.stringify(live.columns) !== JSON.stringify(expected.columns) || !kept) {
    throw new CutOverAuditFailed(`after the swap \`${names.original}\` does not have the new definition or \`${names.old}\` is missing`);
  }
}
