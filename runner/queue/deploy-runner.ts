// Drives one claimed deploy through its durable states: queued → running (online migrations copy and
// catch up, each independently) → ready-to-cutover (waiting, applying the binlog, for `auto` or a
// released gate) → cutting-over (the online migrations swap in one RENAME, then the other changes run
// in plan order) → complete; and reverting → reverted, the same way backwards. Every step reads what
// is stored, so a runner that dies anywhere is replaced by one that continues from there.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { quoteIdent } from '../db/quote.ts';
import { isInterruption, MigrationFailed, MigrationInterrupted } from '../engine/errors.ts';
import { showCreateTable, tableExists } from '../db/table-info.ts';
import { swapHappened } from '../engine/cut-over.ts';
import { droppedTableName, swapBackNames, tableNames } from '../engine/table-names.ts';
import { comparableCreateTable } from '../schema/table-model.ts';
import { alterWithAlgorithm } from '../schema/verify-changes.ts';
import type { MigrationStage, WorkerObserver } from './deploy-model.ts';
import { runWithLockRetries } from './direct-ddl.ts';
import { MigrationDriver, type MigrationTuning } from './migration-driver.ts';
import type { DeployRow, MigrationRow, StateStore } from './state-store.ts';

export interface DeployRunnerOptions {
  runnerId: string;
  observer: WorkerObserver;
  retentionSeconds: number;
  migration: MigrationTuning;
  replicas: ConnectionTarget[];
}

export type RunOutcome = 'finished' | 'interrupted';

const WATCH_MS = 250;

export class DeployRunner {
  private readonly controller = new AbortController();
  private readonly actor: string;
  private readonly drivers: MigrationDriver[] = [];
  private deploy!: DeployRow;
  /** Online migrations whose swap a crashed cut-over had already done. */
  private readonly swappedTables = new Set<string>();
  /** Whether this run's drivers have swapped (all at once). */
  private swapped = false;

  constructor(private readonly store: StateStore, private readonly deployId: number, private readonly token: number,
    private readonly lockConn: Connection, private readonly options: DeployRunnerOptions) {
    this.actor = `runner:${options.runnerId}`;
  }

  private get target(): ConnectionTarget {
    return this.store.target;
  }

  /** Stops without a verdict: the deploy stays as stored and another run resumes it. */
  stop(): void {
    this.controller.abort(new MigrationInterrupted('the runner is stopping'));
  }

  private stopWith(reason: Error): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  /** After the swap only an interruption (lost lease, runner stopping) stops the remaining changes. */
  private checkStopped(): void {
    const reason = this.controller.signal.reason;
    if (this.controller.signal.aborted && (!this.swapped || isInterruption(reason))) throw reason;
  }

  /** Re-reads the deploy's intents and proves the lease, several times a second. */
  private async watch(): Promise<void> {
    const [[held]] = await this.lockConn.query<RowDataPacket[]>('SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine',
      [this.store.deployLockName(this.deployId)]);
    this.deploy = await this.store.deployRow(this.deployId);
    if (Number(held.mine) !== 1 || this.deploy.leaseToken !== this.token) {
      this.stopWith(new MigrationInterrupted('this runner lost its lease on the deploy'));
    } else if (this.deploy.abortRequestedBy && !this.swapped && this.swappedTables.size === 0 && ['queued', 'running', 'ready-to-cutover', 'cutting-over'].includes(this.deploy.state)) {
      this.stopWith(new MigrationFailed(`aborted by ${this.deploy.abortRequestedBy}`));
    }
  }

  async run(): Promise<RunOutcome> {
    this.deploy = await this.store.deployRow(this.deployId);
    const migrations = await this.store.migrationRows(this.deployId);
    let watching = false;
    const timer = setInterval(() => {
      if (watching) return;
      watching = true;
      this.watch().catch((err) => this.stopWith(isInterruption(err) ? err : new MigrationInterrupted(String(err))))
        .finally(() => { watching = false; });
    }, WATCH_MS);
    let failure: unknown;
    try {
      if (this.deploy.state === 'reverting') await this.revert(migrations);
      else await this.deployForward(migrations);
      return 'finished';
    } catch (err) {
      failure = err;
      if (isInterruption(err)) return 'interrupted';
      await this.fail(err);
      return 'finished';
    } finally {
      clearInterval(timer);
      for (const driver of this.drivers) await driver.close(failure).catch(() => undefined);
    }
  }

  private async deployForward(migrations: MigrationRow[]): Promise<void> {
    if (this.deploy.abortRequestedBy && this.deploy.state !== 'cutting-over') throw new MigrationFailed(`aborted by ${this.deploy.abortRequestedBy}`);
    if (this.deploy.state === 'queued') {
      await this.store.setDeployState(this.deployId, this.token, 'running', this.actor, 'started', `started by ${this.actor}`);
      this.deploy.state = 'running';
    }
    if (this.deploy.state === 'running' || this.deploy.state === 'ready-to-cutover') {
      await this.prepareAll(migrations, 'complete');
      if (this.deploy.state === 'running') {
        await this.store.setDeployState(this.deployId, this.token, 'ready-to-cutover', this.actor, 'ready',
          this.deploy.cutover === 'gated' ? 'ready to cut over: waiting for a release' : 'ready to cut over');
        this.deploy.state = 'ready-to-cutover';
      }
      await this.waitForGo();
    } else if (this.deploy.state === 'cutting-over') {
      await this.prepareAll(migrations, 'complete');
    } else {
      return;
    }
    // The swap may wait (and retry) on other connections' locks, so it comes first: until it is done an
    // abort leaves everything as it was; after it, the remaining changes are quick and always finish.
    await this.swapPending();
    await this.applyAll(migrations, 'complete');
    await this.store.setDeployState(this.deployId, this.token, 'complete', this.actor, 'complete', 'every change is live');
  }

  /**
   * Swaps every change back (the online ones after replaying the writes since their cut-over) and
   * goes to `reverted`; a reverted deploy goes back to `complete` the same way. A revert that fails
   * leaves the deploy where it was, with the live tables untouched.
   */
  private async revert(migrations: MigrationRow[]): Promise<void> {
    const towardsOriginal = this.deploy.reverts % 2 === 0;
    const done = towardsOriginal ? 'reverted' : 'complete';
    const requestedBy = this.deploy.revertRequestedBy ?? this.actor;
    try {
      for (const m of migrations.filter((x) => x.stage !== done && x.stage !== 'reverting' && x.stage !== 'cutting-over')) {
        await this.store.setMigrationStage(this.deployId, this.token, m, 'reverting', requestedBy);
      }
      await this.prepareAll(migrations, done, { towardsOriginal });
      await this.swapPending();
      await this.applyAll([...migrations].reverse(), done, towardsOriginal);
    } catch (err) {
      if (isInterruption(err)) throw err;
      const message = (err as Error).message ?? String(err);
      await this.store.setDeployState(this.deployId, this.token, towardsOriginal ? 'complete' : 'reverted', this.actor, 'revert-failed',
        `revert failed, nothing was swapped back: ${message}`, message);
      return;
    }
    await this.store.setDeployState(this.deployId, this.token, done === 'reverted' ? 'reverted' : 'complete', requestedBy,
      towardsOriginal ? 'reverted' : 'reapplied',
      towardsOriginal ? `reverted (requested by ${requestedBy})` : `applied again (requested by ${requestedBy})`, undefined, true);
  }

  /**
   * Starts (or resumes) every online migration not yet `done` and waits until all are caught up;
   * one failure fails them all. A swap a crashed cut-over had already done is recognised, not redone.
   */
  private async prepareAll(migrations: MigrationRow[], done: MigrationStage, swapBack?: { towardsOriginal: boolean }): Promise<void> {
    const pending = migrations.filter((m) => m.method === 'online' && m.stage !== done);
    const ctrl = await connect(this.target);
    try {
      for (const m of pending) {
        if (m.stage === 'cutting-over' && (await this.swapDone(ctrl, m, swapBack !== undefined))) {
          this.swappedTables.add(m.table);
          continue;
        }
        if (!swapBack) await this.releaseEarlierOriginal(ctrl, m.table);
      }
    } finally {
      await ctrl.end();
    }
    for (const m of pending.filter((x) => !this.swappedTables.has(x.table))) {
      this.drivers.push(new MigrationDriver({
        store: this.store, deployId: this.deployId, token: this.token, target: this.target, actor: this.actor,
        signal: this.controller.signal, observer: this.options.observer, tuning: this.options.migration, replicas: this.options.replicas,
        pauseReason: () => (this.deploy.paused ? `paused by ${this.deploy.pausedBy}` : undefined),
        onError: (err) => this.stopWith(isInterruption(err) ? err as Error : new MigrationInterrupted(String(err))),
      }, m, swapBack));
    }
    const results = await Promise.allSettled(this.drivers.map((d) => d.prepare()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      this.stopWith(failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason)));
      throw this.controller.signal.reason;
    }
    this.checkStopped();
  }

  /**
   * Whether a cut-over interrupted by a crash had swapped the tables. Forward: the shadow is gone and
   * the original kept aside. A swap back leaves the same names behind, so it is told by T's definition.
   */
  private async swapDone(ctrl: Connection, m: MigrationRow, back: boolean): Promise<boolean> {
    if (back) {
      const helpers = (await this.store.resumePoint(m.id))?.helpers;
      return helpers !== undefined
        && comparableCreateTable(await showCreateTable(ctrl, m.table)) === comparableCreateTable(helpers.shadowDefinition);
    }
    return swapHappened(ctrl, tableNames(this.target.database, m.table));
  }

  /**
   * Only the last deploy on a table can be reverted: a new migration of the table ends the revert
   * window of the previous one by dropping its kept original, and says so.
   */
  private async releaseEarlierOriginal(ctrl: Connection, table: string): Promise<void> {
    const old = tableNames(this.target.database, table).old;
    const retained = await this.store.retainedFor(old);
    if (!retained || retained.deployId === this.deployId) return;
    await ctrl.query(`DROP TABLE IF EXISTS ${quoteIdent(old)}`);
    await this.store.forgetRetained(old);
    await this.store.addEvent(this.deployId, table, this.actor, 'retention',
      `dropped \`${old}\` kept by deploy ${retained.deployId}: that deploy can no longer be reverted`);
  }

  /** Keeps the migrations applying until the cut-over may start, and moves the deploy to `cutting-over`. */
  private async waitForGo(): Promise<void> {
    let release!: () => void;
    const go = new Promise<void>((r) => { release = r; });
    const waiting = this.drivers.map((d) => d.waitFor(go));
    try {
      for (;;) {
        this.checkStopped();
        for (const driver of this.drivers) driver.checkAbort();
        const { cutover, cutoverRequestedBy, cutoverAfter } = this.deploy;
        const due = !cutoverAfter || cutoverAfter.getTime() <= Date.now();
        // A paused deploy keeps applying the binlog but does not cut over, even when released.
        const releasedBy = cutoverRequestedBy ?? this.actor;
        if (due && !this.deploy.paused && (cutover === 'auto' || cutoverRequestedBy)
          && await this.store.startCutOver(this.deployId, this.token, releasedBy,
            `cut-over started (${releasedBy === this.actor ? 'automatic' : `released by ${releasedBy}`})`)) {
          release();
          await Promise.all(waiting);
          return;
        }
        await Promise.race([new Promise((r) => setTimeout(r, WATCH_MS)), ...waiting]);
      }
    } finally {
      release();
      await Promise.allSettled(waiting);
    }
  }

  /** Applies the changes in order (reverse order for a revert); each one done is recorded, so a resume skips it. */
  private async applyAll(migrations: MigrationRow[], done: MigrationStage, towardsOriginal?: boolean): Promise<void> {
    const conn = await connect(this.target);
    try {
      for (const m of migrations) {
        this.checkStopped();
        if (m.stage === done) continue;
        const message = towardsOriginal === undefined ? await this.applyOne(conn, m) : await this.swapBackOne(conn, m, towardsOriginal);
        await this.store.setMigrationStage(this.deployId, this.token, m, done, this.actor, message);
      }
    } finally {
      await conn.end();
    }
  }

  private ddl(conn: Connection, table: string): (sql: string) => Promise<void> {
    return (sql) => runWithLockRetries(conn, sql, this.controller.signal,
      (attempt, wait) => this.store.addEvent(this.deployId, table, this.actor, 'lock-wait',
        `waiting for a metadata lock on \`${table}\` (attempt ${attempt}, next in ${wait} s): a long transaction holds it`));
  }

  private retainUntil(): Date {
    return new Date(Date.now() + this.options.retentionSeconds * 1000);
  }

  private async applyOne(conn: Connection, m: MigrationRow): Promise<string> {
    const live = async () => (await tableExists(conn, this.target.database, m.table))
      ? comparableCreateTable(await showCreateTable(conn, m.table)) : undefined;
    const ddl = this.ddl(conn, m.table);
    switch (m.method) {
      case 'create':
        if ((await live()) === comparableCreateTable(m.definition ?? '')) return `\`${m.table}\` already exists as planned`;
        await ddl(m.statement);
        return `created \`${m.table}\``;
      case 'direct':
        if (m.definition && (await live()) === comparableCreateTable(m.definition)) return `\`${m.table}\` already has its new definition`;
        await ddl(directAlter(m));
        return `altered \`${m.table}\` in place (${m.algorithm})`;
      case 'drop':
        return this.setAside(conn, m.table);
      case 'online': {
        const old = tableNames(this.target.database, m.table).old;
        const retainUntil = this.retainUntil();
        await this.store.retain(this.deployId, old, m.table, retainUntil);
        return `\`${m.table}\` has its new definition; the original is kept as \`${old}\` until ${retainUntil.toISOString()}`;
      }
    }
  }

  /** The online migrations swap together, in one RENAME, before any other change is applied. */
  private async swapPending(): Promise<void> {
    if (this.swapped || this.drivers.length === 0) return;
    const stall = await MigrationDriver.cutOverTogether(this.drivers);
    this.swapped = true;
    await this.store.addEvent(this.deployId, undefined, this.actor, 'swapped',
      `swapped ${this.drivers.map((d) => `\`${d.row.table}\``).join(', ')} in one RENAME: writers blocked ${stall.toFixed(1)} ms`);
  }

  /** Renames a table to its kept name (a drop that can be undone until the retention ends). */
  private async setAside(conn: Connection, table: string): Promise<string> {
    const kept = droppedTableName(table, this.deployId);
    const retainUntil = this.retainUntil();
    if (await tableExists(conn, this.target.database, table)) await this.ddl(conn, table)(`RENAME TABLE ${quoteIdent(table)} TO ${quoteIdent(kept)}`);
    await this.store.retain(this.deployId, kept, table, retainUntil);
    return `\`${table}\` set aside: kept as \`${kept}\` until ${retainUntil.toISOString()}`;
  }

  private async bringBack(conn: Connection, table: string): Promise<string> {
    const kept = droppedTableName(table, this.deployId);
    if (await tableExists(conn, this.target.database, kept)) await this.ddl(conn, table)(`RENAME TABLE ${quoteIdent(kept)} TO ${quoteIdent(table)}`);
    await this.store.forgetRetained(kept);
    return `\`${table}\` is back`;
  }

  /** One change of a revert: tables come back or go aside; online migrations swap back. */
  private async swapBackOne(conn: Connection, m: MigrationRow, towardsOriginal: boolean): Promise<string> {
    switch (m.method) {
      case 'create':
      case 'drop':
        return (m.method === 'drop') === towardsOriginal ? this.bringBack(conn, m.table) : this.setAside(conn, m.table);
      case 'online': {
        const names = swapBackNames(this.target.database, m.table);
        if (this.swappedTables.has(m.table)) {
          // The crash may have come between the swap and moving the other version to its kept name.
          if (await tableExists(conn, names.schema, names.old)) {
            await conn.query(`RENAME TABLE ${quoteIdent(names.old)} TO ${quoteIdent(names.shadow)}`);
          }
          return `\`${m.table}\` had been swapped back before the runner restarted`;
        }
        await this.store.retain(this.deployId, names.shadow, m.table, this.retainUntil());
        return `\`${m.table}\` is swapped back; the other version is kept as \`${names.shadow}\``;
      }
      case 'direct':
        throw new MigrationFailed(`\`${m.table}\` was altered in place: not reverted automatically`);
    }
  }

  private async fail(err: unknown): Promise<void> {
    const aborted = this.deploy.abortRequestedBy !== undefined && err instanceof MigrationFailed && /^aborted by/.test(err.message);
    const message = (err as Error).message ?? String(err);
    await this.store.endUnfinishedMigrations(this.deployId, this.token, aborted ? 'aborted' : 'failed', message).catch(() => undefined);
    await this.store.setDeployState(this.deployId, this.token, aborted ? 'aborted' : 'failed', this.actor,
      aborted ? 'aborted' : 'failed', aborted ? message : `failed: ${message}`, aborted ? undefined : message).catch(() => undefined);
  }
}

/**
 * The ALTER with the algorithm the planner verified, so the server refuses rather than silently copy;
 * a COPY here is a step on a table this deploy created (still empty), which runs as planned.
 */
function directAlter(m: MigrationRow): string {
  if (m.algorithm === 'COPY') return m.statement;
  return alterWithAlgorithm(m.table, m.alter!, m.algorithm === 'INSTANT' ? 'INSTANT' : 'INPLACE');
}
