// Drives one stored online migration with the engine's steps: start (fresh, or resumed from its
// checkpoints), copy, index build, catch-up; then it keeps applying the binlog until the deploy cuts
// over. Progress goes to the state store at most once a second; stage changes immediately.
import type { ConnectionTarget } from '../db/dsn.ts';
import { OnlineMigration, type MigrationOptions } from '../engine/online-migration.ts';
import type { ProgressSink, ProgressSnapshot } from '../engine/progress.ts';
import type { WorkerObserver } from './deploy-model.ts';
import { swapBackRenames } from './revert-impact.ts';
import type { MigrationRow, StateStore } from './state-store.ts';

export type MigrationTuning = Partial<Pick<MigrationOptions,
  'chunkSize' | 'copyThreads' | 'targetChunkMs' | 'maxLagMs' | 'maxThreadsRunning' | 'throttleQuery' | 'lockWaitSeconds' | 'cutOverAttempts' | 'killBlockers'>>;

export interface DriverContext {
  store: StateStore;
  deployId: number;
  token: number;
  target: ConnectionTarget;
  actor: string;
  signal: AbortSignal;
  observer: WorkerObserver;
  tuning: MigrationTuning;
  /** The target's replicas, watched for lag (fail closed: one that cannot be read pauses the copy). */
  replicas: ConnectionTarget[];
  /** Why the copy should wait (a manual pause), if it should. */
  pauseReason: () => string | undefined;
  /** A failed background write (e.g. the lease was lost) stops the deploy. */
  onError: (err: unknown) => void;
}

const PROGRESS_EVERY_MS = 1_000;

/** Writes engine progress to the store, in order, never blocking the engine. */
class StoredProgress implements ProgressSink {
  private lastAt = 0;
  private lastState: string | undefined;
  private lastThrottleAt = 0;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly context: DriverContext, private readonly migration: MigrationRow) {}

  update(snapshot: ProgressSnapshot): void {
    const now = Date.now();
    if (snapshot.throttle && this.lastThrottleAt) this.context.observer.throttled((now - this.lastThrottleAt) / 1000, snapshot.throttle);
    this.lastThrottleAt = snapshot.throttle ? now : 0;
    if (snapshot.state === this.lastState && now - this.lastAt < PROGRESS_EVERY_MS) return;
    this.lastAt = now;
    this.lastState = snapshot.state;
    const { store, token } = this.context;
    this.chain = this.chain.then(() => store.saveProgress(this.migration.id, token, snapshot)).catch(this.context.onError);
  }

  log(line: string): void {
    const { store, deployId, actor } = this.context;
    this.chain = this.chain.then(() => store.addEvent(deployId, this.migration.table, actor, 'log', line)).catch(this.context.onError);
  }

  stop(): void {}

  async flushed(): Promise<void> {
    await this.chain;
  }
}

export class MigrationDriver {
  private migration: OnlineMigration | undefined;
  private readonly progress: StoredProgress;

  /** With `swapBack`, the migration is a revert: the kept original catches up and is swapped back in. */
  constructor(private readonly context: DriverContext, readonly row: MigrationRow,
    private readonly swapBack?: { towardsOriginal: boolean }) {
    this.progress = new StoredProgress(context, row);
  }

  private get engine(): OnlineMigration {
    if (!this.migration) throw new Error(`migration of \`${this.row.table}\` has not started`);
    return this.migration;
  }

  /** Starts or resumes, and brings the shadow table up to date: ready for cut-over. */
  async prepare(): Promise<void> {
    const { store, deployId, token, actor, target } = this.context;
    const resume = await store.resumePoint(this.row.id);
    this.migration = new OnlineMigration({
      // A copy may have taken hours: a blocked cut-over retries (with backoff) until it works or is aborted.
      cutOverAttempts: Number.POSITIVE_INFINITY,
      ...this.context.tuning,
      replicas: this.context.replicas,
      target, table: this.row.table, alter: this.row.alter!,
      swapBack: this.swapBack && {
        from: this.row.cutoverPosition!, renames: swapBackRenames(this.row.alter!, this.swapBack.towardsOriginal),
      },
      // The planner only lets a column drop through when its finding was suppressed with a reason.
      allowDropColumns: true,
      checkpoints: store.checkpointPort(this.row.id, token),
      resume,
      signal: this.context.signal,
      throttleReason: this.context.pauseReason,
      progress: this.progress,
      beforeRename: (position) => store.saveCutoverPosition(deployId, token, this.row.id, position),
      onRowsCopied: (rows) => this.context.observer.rowsCopied(rows),
    });
    const { freshStart } = await this.migration.start();
    if (resume) {
      await store.addEvent(deployId, this.row.table, actor, freshStart ? 'fresh-start' : 'resumed',
        freshStart ? `starting the copy over: ${freshStart}` : 'resumed from its checkpoint');
    } else {
      await store.addEvent(deployId, this.row.table, actor, 'started', this.swapBack
        ? `swap back started: replaying the writes since the cut-over into \`${this.migration.names.shadow}\``
        : `online migration started: ${this.row.statement}`);
    }
    await this.migration.copy();
    await this.migration.buildIndexesAndVerify();
    await this.migration.catchUp();
    if (this.swapBack) return;
    const snapshot = this.migration.snapshot();
    await store.setMigrationStage(deployId, token, this.row, 'ready-to-cutover', actor,
      `copied ${snapshot.rowsCopied} rows, ${snapshot.binlogRowsApplied} binlog changes applied; ready to cut over`);
  }

  /** Keeps applying the binlog until `go` resolves (or the migration fails meanwhile). */
  async waitFor(go: Promise<void>): Promise<void> {
    await this.engine.waitForRelease({ describe: () => 'the deploy cut-over', wait: () => go });
  }

  checkAbort(): void {
    this.migration?.checkAbort();
  }

  /** Verifies and swaps every driver's table in one atomic RENAME; the originals stay as `T__old`. */
  static async cutOverTogether(drivers: MigrationDriver[]): Promise<number> {
    for (const driver of drivers) {
      const { store, deployId, token, actor } = driver.context;
      await store.setMigrationStage(deployId, token, driver.row, 'cutting-over', actor);
    }
    const { stallMs } = await OnlineMigration.cutOverTogether(drivers.map((d) => d.engine));
    drivers[0].context.observer.cutOverStall(stallMs);
    return stallMs;
  }

  async close(error?: unknown): Promise<void> {
    await this.migration?.close(error);
    await this.progress.flushed();
  }
}
