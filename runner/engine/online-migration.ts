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
import { createChangelog, lastHeartbeat, writeHeartbeat, writeMarker } from './changelog.ts';
import { buildColumnMapping, type ColumnMapping } from './column-mapping.ts';
import type { CheckpointPort, CopyProgress, HelperState, ResumePoint } from './checkpoint.ts';
import { CutOverBlocked, cutOver, type CutOverPart, type CutOverResult } from './cut-over.ts';
import { dropDeferrableIndexes, rebuildIndexes } from './deferred-indexes.ts';
import { CutOverAuditFailed, isInterruption, MigrationFailed, MigrationInterrupted, MigrationRefused, NotRetryable } from './errors.ts';
import { checkBinlog, checkTable } from './preflight.ts';
import { silentProgress, type MigrationState, type ProgressSink, type ProgressSnapshot } from './progress.ts';
import { RowCopier } from './row-copier.ts';
import { readTableInfo, showCreateTable, tableExists, type TableInfo } from '../db/table-info.ts';
import { comparableCreateTable } from '../schema/table-model.ts';
import { swapBackNames, tableNames, type TableNames } from './table-names.ts';
import { refreshStatistics } from './shadow-statistics.ts';
import { Throttler } from './throttler.ts';
import { verifyChangedKeys, verifyShadow } from './verification.ts';

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
  /** Connections copying chunks side by side (default 2); throttling applies to each. */
  copyThreads?: number;
  targetChunkMs?: number;
  maxLagMs?: number;
  maxThreadsRunning?: number;
  /** Pause the copy while this query's first value is neither 0 nor NULL (an operator's own signal). */
  throttleQuery?: string;
  replicas?: ConnectionTarget[];
  /** Dropping columns discards their data: refused unless explicitly allowed. */
  allowDropColumns?: boolean;
  postponeCutover?: CutOverGate;
  progress?: ProgressSink;
  signal?: AbortSignal;
  /** Cut-over attempts before giving up (default 60, about half an hour; a deploy keeps trying until it is aborted). */
  cutOverAttempts?: number;
  lockWaitSeconds?: number;
  /** Records progress durably (the runner's queue); the one-shot CLI records nothing. */
  checkpoints?: CheckpointPort;
  /** Where an interrupted run stopped: its helper tables are reused when they can be trusted. */
  resume?: ResumePoint;
  /** A further reason to pause the copy (a manual pause), checked with the built-in ones. */
  throttleReason?: () => Promise<string | undefined> | string | undefined;
  /**
   * Kill the connections that keep the cut-over from its tables (only when the server shows metadata
   * locks, so only real holders are hit). Off by default: a blocker is named in the status instead.
   */
  killBlockers?: boolean;
  /** Called under the cut-over lock with the binlog position after the last change to the old table. */
  beforeRename?: (position: BinlogPosition) => Promise<void>;
  onRowsCopied?: (rows: number) => void;
  /**
   * Revert: instead of a new shadow table, the kept original `T__old` is brought up to date from
   * `from` (the cut-over position) and swapped back in. `renames` maps T's column names to `T__old`'s.
   */
  swapBack?: { from: BinlogPosition; renames: Map<string, string> };
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
  /** Wall-clock seconds of each step of a one-shot run, in order (prepare, copy, indexes+verify, catch-up, cut-over). */
  stepSeconds: Record<string, number>;
}

const HEARTBEAT_MS = 200;
const LOCK_CHECK_MS = 1_000;
/** A changelog heartbeat younger than this belongs to a run that is still alive. */
const LIVE_HEARTBEAT_MS = 10_000;
const DEFAULT_CUTOVER_ATTEMPTS = 60;
const DEFAULT_COPY_THREADS = 2;
/**
 * A chunk's locking read holds its rows until it commits: a writer touching one of them waits up to
 * this long, so chunks are kept short (the copy loses about a tenth of its speed against 0.5 s chunks).
 */
const DEFAULT_CHUNK_MS = 50;
/** Cut-over attempts back off up to this, applying the binlog meanwhile. */
const MAX_CUTOVER_BACKOFF_MS = 30_000;
/** Beyond this many changed keys a swap back verifies the whole tables instead (bounded memory). */
const MAX_VERIFIED_KEYS = 2_000_000;
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

/** One online migration as explicit steps; `runOnlineMigration` runs them in order, the queue resumes them. */
export class OnlineMigration {
  state: MigrationState = 'preparing';
  readonly names: TableNames;
  private readonly progress: ProgressSink;
  private readonly lockWaitSeconds: number;
  private readonly connections: Connection[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly startedAt = performance.now();
  /** Column renames of the ALTER (old name → new name); refuses ALTERs that are not online migrations. */
  private readonly renames: Map<string, string>;
  private ctrl!: Connection;
  private streamer: BinlogStreamer | undefined;
  private applier: BinlogApplier | undefined;
  private throttler: Throttler | undefined;
  private copier: RowCopier | undefined;
  private mapping!: ColumnMapping;
  private shadowInfo!: TableInfo;
  private helpers!: HelperState;
  /** Only the holder of the table's lock may touch its helper tables (another run may own them)… */
  private ownsTable = false;
  /** …and only those it made or took over: never tables it merely found. */
  private ownsHelpers = false;
  private cutOverDone = false;
  private heartbeatError: Error | undefined;
  private lockLost: Error | undefined;
  private rowsTotal = 0;
  private copyStartedAt = 0;
  private copySeconds = 0;
  private verified: { rows: number; lockMs: number; conflicts: number } | undefined;
  private cut: CutOverResult = { stallMs: 0, drainedRows: 0 };
  /** Set while cut-over attempts wait on other connections' locks. */
  private blocker: string | undefined;

  constructor(private readonly options: MigrationOptions) {
    this.names = (options.swapBack ? swapBackNames : tableNames)(options.target.database, options.table);
    this.progress = options.progress ?? silentProgress;
    this.lockWaitSeconds = options.lockWaitSeconds ?? 2;
    this.renames = options.swapBack?.renames ?? analyzeAlter(options.alter).renames;
  }

  private async open(readCommitted = false): Promise<Connection> {
    const conn = await connect(this.options.target, { readCommitted });
    this.connections.push(conn);
    return conn;
  }

  private get activeApplier(): BinlogApplier {
    if (!this.applier) throw new Error('the migration has not started');
    return this.applier;
  }

  /**
   * Takes the table's lock, checks the table, and makes the helper tables, or recognises those of an
   * interrupted run (`options.resume`); then starts the binlog stream, the applier, heartbeats and
   * throttling. Returns why a resume had to start fresh, when it did.
   */
  async start(): Promise<{ freshStart?: string }> {
    const { names, options } = this;
    this.ctrl = await this.open();
    const [[{ got }]] = await this.ctrl.query<RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS got', [lockName(names)]);
    if (Number(got) !== 1) {
      const message = `another migration is running on \`${names.original}\``;
      throw options.resume ? new MigrationInterrupted(message) : new MigrationRefused(message);
    }
    this.ownsTable = true;
    await checkBinlog(this.ctrl);
    await checkTable(this.ctrl, names);
    if (options.swapBack) return this.startSwapBack(options.swapBack.from);
    const freshStart = options.resume ? await this.resumeObstacle(options.resume) : undefined;
    const resume = freshStart ? undefined : options.resume;
    const original = await readTableInfo(this.ctrl, names.schema, names.original);
    let from: BinlogPosition;
    if (resume) {
      this.ownsHelpers = true;
      this.helpers = resume.helpers;
      this.shadowInfo = await readTableInfo(this.ctrl, names.schema, names.shadow);
      this.mapping = buildColumnMapping(original, this.shadowInfo, this.renames);
      if (!(await tableExists(this.ctrl, names.schema, names.changelog))) await createChangelog(this.ctrl, names);
      from = resume.applied;
      this.progress.log(`resuming \`${names.original}\` at ${from.file}:${from.position}, `
        + `${resume.copy.done ? 'copy complete' : `${resume.copy.rowsCopied} rows copied`}`);
    } else {
      await this.createHelpers(original);
      from = await binlogPosition(this.ctrl);
      await options.checkpoints?.started(this.ctrl, { helpers: this.helpers, copy: { rowsCopied: 0, done: false }, applied: from });
    }
    this.progress.log(`migrating \`${names.original}\` by key ${this.mapping.key.oldIndex} (${this.mapping.key.oldColumns.join(', ')}): `
      + `${this.mapping.written.length} columns copied${this.mapping.dropped.length ? `, dropping ${this.mapping.dropped.join(', ')}` : ''}`);
    await this.startStreaming(from, resume?.copy);
    return { freshStart };
  }

  /**
   * The kept original holds every row as of the cut-over: only the changes since then are replayed
   * into it (no copy), so the cost follows the changes, not the table size. Nothing can be recopied:
   * without the binlog since the cut-over the revert is impossible, and says so.
   */
  private async startSwapBack(cutOverPosition: BinlogPosition): Promise<{ freshStart?: string }> {
    const { names, options, ctrl } = this;
    const from = options.resume?.applied ?? cutOverPosition;
    if (!(await tableExists(ctrl, names.schema, names.shadow))) {
      throw new MigrationRefused(`\`${names.shadow}\` is gone (dropped at the end of the retention?): nothing to revert to`);
    }
    const [logs] = await ctrl.query<RowDataPacket[]>('SHOW BINARY LOGS');
    if (!logs.some((l) => l.Log_name === from.file)) {
      throw new MigrationRefused(`binlog ${from.file} with the writes since the cut-over has been purged: a revert would lose them`);
    }
    const original = await readTableInfo(ctrl, names.schema, names.original);
    this.shadowInfo = await readTableInfo(ctrl, names.schema, names.shadow);
    this.mapping = buildColumnMapping(original, this.shadowInfo, this.renames);
    const definition = await showCreateTable(ctrl, names.shadow);
    this.helpers = { alter: '', shadowDefinition: definition, copyDefinition: definition };
    this.ownsHelpers = true;
    if (!(await tableExists(ctrl, names.schema, names.changelog))) await createChangelog(ctrl, names);
    const copy = { rowsCopied: 0, done: true };
    if (!options.resume) await options.checkpoints?.started(ctrl, { helpers: this.helpers, copy, applied: from });
    this.progress.log(`swapping \`${names.shadow}\` back in: replaying the changes since ${from.file}:${from.position}`);
    await this.startStreaming(from, copy);
    return {};
  }

  /** Why the helper tables of an interrupted run cannot be trusted (so the run starts over), if they cannot. */
  private async resumeObstacle(resume: ResumePoint): Promise<string | undefined> {
    const { names } = this;
    if (resume.helpers.alter !== this.options.alter) return 'the statement changed';
    const [logs] = await this.ctrl.query<RowDataPacket[]>('SHOW BINARY LOGS');
    if (!logs.some((l) => l.Log_name === resume.applied.file)) return `binlog ${resume.applied.file} has been purged`;
    if (!(await tableExists(this.ctrl, names.schema, names.shadow))) return `the shadow table \`${names.shadow}\` is gone`;
    const current = comparableCreateTable(await showCreateTable(this.ctrl, names.shadow));
    const known = [resume.helpers.copyDefinition, resume.helpers.shadowDefinition].map(comparableCreateTable);
    if (!known.includes(current)) return `the shadow table \`${names.shadow}\` was changed`;
    return undefined;
  }

  private async createHelpers(original: TableInfo): Promise<void> {
    const { names, options, ctrl } = this;
    // Leftovers of an interrupted run: we hold the table's lock, and a live run (one that lost its
    // lock, say) would still be writing heartbeats. A resumed deploy's leftovers are its own.
    const heartbeat = options.resume ? undefined : await lastHeartbeat(ctrl, names);
    if (heartbeat !== undefined && Date.now() - heartbeat < LIVE_HEARTBEAT_MS) {
      throw new MigrationRefused(`another migration of \`${names.original}\` is alive (its heartbeat in \`${names.changelog}\` is `
        + `${Date.now() - heartbeat} ms old) although it no longer holds the table's lock: stop it first`);
    }
    await ctrl.query(`DROP TABLE IF EXISTS ${quoteIdent(names.shadow)}, ${quoteIdent(names.changelog)}`);
    this.ownsHelpers = true;
    await ctrl.query(`CREATE TABLE ${quoteIdent(names.shadow)} LIKE ${quoteIdent(names.original)}`);
    try {
      await ctrl.query(`ALTER TABLE ${quoteIdent(names.shadow)} ${options.alter}`);
    } catch (err) {
      throw new MigrationRefused(`the ALTER does not apply: ${(err as Error).message}`);
    }
    this.shadowInfo = await readTableInfo(ctrl, names.schema, names.shadow);
    this.mapping = buildColumnMapping(original, this.shadowInfo, this.renames);
    checkMapping(this.mapping, this.shadowInfo, options.allowDropColumns ?? false);
    const shadowDefinition = await showCreateTable(ctrl, names.shadow);
    const deferred = await dropDeferrableIndexes(ctrl, names, this.mapping, this.shadowInfo);
    this.helpers = { alter: options.alter, shadowDefinition, copyDefinition: await showCreateTable(ctrl, names.shadow), deferred };
    await createChangelog(ctrl, names);
  }

  private async refreshShadowStatistics(): Promise<void> {
    const problem = await refreshStatistics(this.options.target, this.names.shadow, this.lockWaitSeconds);
    if (problem) this.progress.log(problem);
  }

  private async startStreaming(from: BinlogPosition, copy: CopyProgress | undefined): Promise<void> {
    const { names, options, mapping } = this;
    await this.refreshShadowStatistics();
    const monitor = await this.open();
    this.streamer = new BinlogStreamer(options.target, names.schema, [names.original, names.changelog], randomInt(100_000, 2 ** 31),
      { [names.original]: mapping.key.oldColumns, [names.changelog]: ['hint', 'value'] });
    await this.streamer.start(from);
    // Row transfers use locking reads; READ COMMITTED spares them gap locks (and deadlocks with writers).
    // A swap back started at the cut-over sees every change since: it can verify just those keys.
    this.applier = new BinlogApplier(await this.open(true), this.streamer, names, mapping, options.checkpoints,
      options.swapBack ? names.shadow : undefined, options.swapBack !== undefined && !options.resume);
    this.applier.start();
    await writeHeartbeat(monitor, names);
    // Losing the table's lock (its connection killed) means another run may take the helpers: stop, and touch nothing.
    this.timers.push(setInterval(() => void this.ctrl.query<RowDataPacket[]>('SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine', [lockName(names)])
      .then(([[row]]) => Number(row.mine) === 1, () => false)
      .then((mine) => {
        if (mine || this.lockLost) return;
        this.ownsTable = false;
        this.lockLost = new MigrationFailed(`lost the lock on \`${names.original}\` (was its connection killed?): stopping, and leaving `
          + 'the helper tables to whoever holds the lock now');
      }), LOCK_CHECK_MS));
    let heartbeatFailures = 0;
    this.timers.push(setInterval(() => void writeHeartbeat(monitor, names).then(() => { heartbeatFailures = 0; }, (err: Error) => {
      // Without heartbeats neither lag nor throttling can be measured.
      if (++heartbeatFailures >= MAX_HEARTBEAT_FAILURES) this.heartbeatError ??= new MigrationFailed(`heartbeat writes keep failing: ${err.message}`);
    }), HEARTBEAT_MS));
    const replicas = (options.replicas ?? []).map((r) => ({ label: `${r.host}:${r.port}`, target: r }));
    this.throttler = new Throttler(monitor, replicas, names, {
      maxLagMs: options.maxLagMs ?? 1500, maxThreadsRunning: options.maxThreadsRunning ?? 50, query: options.throttleQuery,
    }, options.throttleReason);
    await this.throttler.start();
    const copyConns = await Promise.all(Array.from({ length: Math.max(1, options.copyThreads ?? DEFAULT_COPY_THREADS) }, () => this.open(true)));
    this.copier = new RowCopier(copyConns, names, mapping, {
      chunkSize: options.chunkSize, targetChunkMs: options.targetChunkMs ?? DEFAULT_CHUNK_MS, checkpoints: options.checkpoints, resume: copy,
    });
    await this.copier.init();
    this.rowsTotal = await estimateRows(this.ctrl, names);
    this.timers.push(setInterval(() => this.progress.update(this.snapshot()), 250));
  }

  /** Throws what stops the migration: an abort, an applier or heartbeat failure. */
  checkAbort(): void {
    const signal = this.options.signal;
    if (signal?.aborted) {
      const reason = signal.reason;
      throw isInterruption(reason) ? reason
        : reason instanceof MigrationFailed ? reason : new MigrationFailed('migration aborted by the operator');
    }
    if (this.lockLost) throw this.lockLost;
    if (this.applier?.error) throw this.applier.error;
    if (this.heartbeatError) throw this.heartbeatError;
  }

  private setState(state: MigrationState): void {
    this.state = state;
    this.progress.update(this.snapshot());
  }

  /** Resolves when every binlog change written so far is in the shadow table. */
  async catchUp(): Promise<void> {
    this.state = this.state === 'copying' || this.state === 'building-indexes' ? this.state : 'catching-up';
    await this.activeApplier.waitForMarker(await writeMarker(this.ctrl, this.names), 10 * 60_000);
  }

  async copy(): Promise<void> {
    const copier = this.copier!;
    const throttler = this.throttler!;
    this.copyStartedAt = performance.now();
    this.setState('copying');
    await copier.run({
      throttle: async () => {
        this.checkAbort();
        await throttler.wait(() => this.checkAbort());
      },
      catchUp: () => this.catchUp(),
      onChunk: (rows) => {
        this.checkAbort();
        this.options.onRowsCopied?.(rows);
        this.progress.update(this.snapshot());
      },
    });
    this.copySeconds = (performance.now() - this.copyStartedAt) / 1000;
  }

  /**
   * Adds the deferred secondary indexes back and verifies the copy, so that a migration ready to cut
   * over is a verified one; the build runs beside the checksums. A swap back only builds: it verifies
   * the keys it replays at the cut-over instead, and is never held by a throttle (it has no copy).
   */
  async buildIndexesAndVerify(): Promise<void> {
    if (this.options.swapBack) return this.rebuildDeferredIndexes();
    // The heaviest work after the copy: it waits out a throttle (a manual pause, replica lag) as the copy does.
    await this.throttler?.wait(() => this.checkAbort(), true);
    await this.refreshShadowStatistics();
    await this.rebuildDeferredIndexes((build) => this.verify(async () => {
      await build();
      this.setState('verifying');
    }));
    // Also when the build alongside verification failed and succeeded on a later attempt, or was done before a resume.
    if (!this.verified) await this.verify();
  }

  /** Unless a resumed run finds them built; `firstAttempt` runs the first build (beside verification). */
  private async rebuildDeferredIndexes(firstAttempt?: (build: () => Promise<void>) => Promise<void>): Promise<void> {
    const deferred = this.helpers.deferred;
    if (!deferred || comparableCreateTable(await showCreateTable(this.ctrl, this.names.shadow))
      === comparableCreateTable(this.helpers.shadowDefinition)) return;
    this.setState('building-indexes');
    this.progress.log(`building ${deferred.names.length} secondary index(es) on the copy${firstAttempt ? ' while verifying it' : ''}: `
      + deferred.names.join(', '));
    await rebuildIndexes(await this.open(), this.names, this.mapping, deferred, this.activeApplier, () => this.catchUp(), firstAttempt);
  }

  /** Applies the binlog while waiting until the gate opens (or the migration fails). */
  async waitForRelease(gate: CutOverGate): Promise<void> {
    this.setState('ready-to-cutover');
    this.progress.log(`copy complete; applying the binlog until cut-over is released: ${gate.describe()}`);
    await Promise.race([
      gate.wait(),
      new Promise<never>((_, reject) => {
        const poll = setInterval(() => {
          try { this.checkAbort(); } catch (err) { clearInterval(poll); reject(err); }
        }, 200);
        this.timers.push(poll);
      }),
    ]);
  }

  /**
   * Full verification: counts and hashes of both tables in consistent snapshots, with `alongside`
   * (the index build) run beside them. A swap back that saw every change since the cut-over compares
   * only the rows of those keys (and the counts).
   */
  async verify(alongside?: () => Promise<void>): Promise<void> {
    if (!alongside) this.setState('verifying');
    const applier = this.activeApplier;
    const conflicts = applier.conflicts.length;
    await this.catchUp();
    const keyed = this.options.swapBack && !this.options.resume && applier.appliedKeys.size <= MAX_VERIFIED_KEYS;
    if (keyed) {
      const result = await verifyChangedKeys(this.options.target, this.ctrl, this.names, this.mapping, applier,
        [...applier.appliedKeys.values()], this.lockWaitSeconds);
      this.progress.log(`verified: ${result.rows} rows counted, the ${result.compared} changed since the cut-over compared`);
      this.verified = { rows: result.rows, lockMs: result.lockMs, conflicts };
    } else {
      const result = await verifyShadow(this.options.target, this.ctrl, this.names, this.mapping, applier, this.lockWaitSeconds, alongside);
      this.progress.log(`verified: ${result.original.rows} rows, checksums match`);
      this.verified = { rows: result.original.rows, lockMs: result.lockMs, conflicts };
    }
  }

  /** Verifies (again, when needed) and swaps the table atomically, with retries; then audits the swap. */
  async cutOver(): Promise<CutOverResult> {
    return OnlineMigration.cutOverTogether([this]);
  }

  /**
   * Swaps several tables in one atomic RENAME (all get their new definition or none does), with
   * retries; each is verified first (again, when the applier met a unique-key conflict since).
   */
  static async cutOverTogether(migrations: OnlineMigration[]): Promise<CutOverResult> {
    const [first] = migrations;
    const attempts = first.options.cutOverAttempts ?? DEFAULT_CUTOVER_ATTEMPTS;
    let cut: CutOverResult | undefined;
    for (let attempt = 1; !cut; attempt++) {
      try {
        const parts: CutOverPart[] = [];
        for (const migration of migrations) parts.push(await migration.cutOverPart());
        cut = await cutOver(first.options.target, first.ctrl, parts, { lockWaitSeconds: first.lockWaitSeconds, drainTimeoutMs: 3_000 });
      } catch (err) {
        for (const migration of migrations) migration.checkAbort();
        if (attempt >= attempts || err instanceof NotRetryable) {
          throw err instanceof MigrationFailed ? err : new MigrationFailed(`cut-over failed: ${(err as Error).message}`);
        }
        for (const migration of migrations) {
          migration.blocker = err instanceof CutOverBlocked ? err.message : undefined;
          migration.progress.log(`cut-over attempt ${attempt} failed (${(err as Error).message}); retrying`);
        }
        if (err instanceof CutOverBlocked && err.exact && first.options.killBlockers) await first.killBlockers(err);
        await new Promise((r) => setTimeout(r, Math.min(MAX_CUTOVER_BACKOFF_MS, 500 * attempt)));
      }
    }
    for (const migration of migrations) migration.blocker = undefined;
    for (const migration of migrations) await migration.finishCutOver(cut);
    return cut;
  }

  private async killBlockers(err: CutOverBlocked): Promise<void> {
    for (const holder of err.blockers) {
      await this.ctrl.query(`KILL ${Number(holder.thread)}`).catch(() => undefined);
      this.progress.log(`killed connection ${holder.thread} (${holder.user}, ${holder.seconds} s), which held \`${holder.table}\``);
    }
  }

  /** This table's share of a cut-over, verified: a unique-key conflict resolved by REPLACE may have removed a row. */
  private async cutOverPart(): Promise<CutOverPart> {
    const applier = this.activeApplier;
    if (!this.verified || applier.conflicts.length > this.verified.conflicts) await this.verify();
    else await this.catchUp();
    this.setState('cutting-over');
    return {
      names: this.names, mapping: this.mapping, applier, verifiedConflicts: this.verified!.conflicts,
      beforeRename: this.options.beforeRename,
    };
  }

  /** After the swap the live table must have the new definition, and the binlog must show no stray write. */
  private async finishCutOver(cut: CutOverResult): Promise<void> {
    this.cut = cut;
    this.cutOverDone = true;
    await checkCutOver(this.ctrl, this.names, this.shadowInfo);
    if (this.options.swapBack) await this.ctrl.query(`RENAME TABLE ${quoteIdent(this.names.old)} TO ${quoteIdent(this.names.shadow)}`);
    await auditSwap(this.streamer!, this.names);
    this.setState('complete');
    const kept = this.options.swapBack ? this.names.shadow : this.names.old;
    this.progress.log(`cut-over complete: writers blocked ${cut.stallMs.toFixed(1)} ms; the other version kept as \`${kept}\``);
  }

  snapshot(): ProgressSnapshot {
    const copied = this.copier?.rowsCopied ?? 0;
    const total = Math.max(this.rowsTotal, copied);
    const copying = this.state === 'copying' || this.state === 'preparing';
    const elapsed = ((this.copySeconds ? this.copyStartedAt + this.copySeconds * 1000 : performance.now()) - this.copyStartedAt) / 1000;
    const rate = this.copyStartedAt && elapsed > 0 ? copied / elapsed : 0;
    return {
      state: this.state, rowsCopied: copied, rowsTotal: total,
      percent: copying ? Math.min(99.9, total ? (copied / total) * 100 : 0) : 100,
      rowsPerSecond: rate, binlogRowsApplied: this.applier?.rowsApplied ?? 0, lagMs: this.applier?.lagMs ?? 0,
      etaSeconds: copying && rate > 0 ? (total - copied) / rate : undefined,
      throttle: this.throttler?.reason,
      blocker: this.blocker,
    };
  }

  result(): Omit<MigrationResult, 'stepSeconds'> {
    return {
      table: this.names.original, oldTable: this.names.old, rowsCopied: this.copier?.rowsCopied ?? 0,
      binlogRowsApplied: this.applier?.rowsApplied ?? 0, verifiedRows: this.verified?.rows ?? 0,
      cutOverStallMs: this.cut.stallMs, cutOverDrainedRows: this.cut.drainedRows, verifyLockMs: this.verified?.lockMs ?? 0,
      copySeconds: this.copySeconds, durationSeconds: (performance.now() - this.startedAt) / 1000,
    };
  }

  /**
   * Stops streaming and closes connections. The helper tables go unless the migration was only
   * interrupted (it resumes from them); after a cut-over only the changelog goes.
   */
  async close(error?: unknown): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.throttler?.stop();
    await this.applier?.stop().catch(() => undefined);
    try {
      this.streamer?.stop();
    } catch {
      // The stream is being torn down either way; the helper tables must still go.
    }
    // Only a migration with checkpoints can resume from its helpers; a one-shot run cleans up.
    const resumable = isInterruption(error) && this.options.checkpoints !== undefined;
    // A swap back's "shadow" is the kept original: it stays whatever happens.
    const cleanup = this.cutOverDone || this.options.swapBack ? [this.names.changelog]
      : resumable ? [] : [this.names.shadow, this.names.changelog];
    if (this.ownsTable && this.ownsHelpers && cleanup.length > 0) {
      await this.ctrl.query(`DROP TABLE IF EXISTS ${cleanup.map(quoteIdent).join(', ')}`).catch(() => undefined);
    }
    this.progress.stop();
    for (const conn of this.connections) await conn.end().catch(() => conn.destroy());
  }
}

/** The one-shot migration (`schemabot migrate`): every step in order, helpers removed on failure. */
export async function runOnlineMigration(options: MigrationOptions): Promise<MigrationResult> {
  const migration = new OnlineMigration(options);
  const stepSeconds: Record<string, number> = {};
  const step = async (name: string, work: () => Promise<unknown>) => {
    const started = performance.now();
    await work();
    stepSeconds[name] = (performance.now() - started) / 1000;
  };
  let error: unknown;
  try {
    await step('prepare', () => migration.start());
    await step('copy', () => migration.copy());
    await step('indexes+verify', () => migration.buildIndexesAndVerify());
    await step('catch-up', () => migration.catchUp());
    if (options.postponeCutover) await migration.waitForRelease(options.postponeCutover);
    await step('cut-over', () => migration.cutOver());
    return { ...migration.result(), stepSeconds };
  } catch (err) {
    error = err;
    throw err;
  } finally {
    await migration.close(error);
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
