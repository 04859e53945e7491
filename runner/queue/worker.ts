// The worker loop: finds each target's active deploys, claims the ones no live runner holds, and
// drives them (deploy-runner.ts). A claim is a GET_LOCK held on a dedicated connection — released by
// the server the moment this runner dies — plus a new fencing token (state-store.ts takeLease). It
// also drops kept tables whose retention has ended.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { quoteIdent } from '../db/quote.ts';
import type { WorkerObserver } from './deploy-model.ts';
import { DeployRunner } from './deploy-runner.ts';
import type { MigrationTuning } from './migration-driver.ts';
import type { StateStore } from './state-store.ts';

export interface WorkerTarget {
  name: string;
  /** The target's store, its tables created. */
  ready(): Promise<StateStore>;
  replicas: ConnectionTarget[];
}

export interface WorkerOptions {
  runnerId?: string;
  retentionSeconds: number;
  observer: WorkerObserver;
  pollMs: number;
  migration: MigrationTuning;
}

/** A stalled runner's lock connection is closed by the server after this long without a query. */
const LOCK_IDLE_TIMEOUT_SECONDS = 30;
const RETRY_AFTER_INTERRUPT_MS = 1_000;
const RETENTION_SWEEP_MS = 60_000;

export class Worker {
  readonly runnerId: string;
  private readonly running = new Map<string, { runner: DeployRunner; done: Promise<void> }>();
  private readonly retryAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private lastSweep = 0;
  private stopping = false;

  constructor(private readonly targets: WorkerTarget[], private readonly options: WorkerOptions) {
    this.runnerId = options.runnerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  start(): void {
    const loop = () => {
      if (this.stopping) return;
      this.ticking = this.tick().finally(() => {
        if (!this.stopping) this.timer = setTimeout(loop, this.options.pollMs);
      });
    };
    loop();
  }

  private async tick(): Promise<void> {
    for (const target of this.targets) {
      try {
        const store = await target.ready();
        for (const id of await store.activeDeployIds()) {
          const key = `${target.name}.${id}`;
          if (this.stopping || this.running.has(key) || (this.retryAt.get(key) ?? 0) > Date.now()) continue;
          await this.claim(key, store, id, target.replicas);
        }
        if (Date.now() - this.lastSweep > RETENTION_SWEEP_MS) await this.sweep(store);
      } catch {
        // The target is unreachable (restarting, network): its deploys are picked up on a later tick.
      }
    }
    if (Date.now() - this.lastSweep > RETENTION_SWEEP_MS) this.lastSweep = Date.now();
  }

  private async claim(key: string, store: StateStore, id: number, replicas: ConnectionTarget[]): Promise<void> {
    const lockConn = await connect(store.target);
    let claimed = false;
    try {
      await lockConn.query('SET SESSION wait_timeout = ?', [LOCK_IDLE_TIMEOUT_SECONDS]);
      const [[{ got }]] = await lockConn.query<RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS got', [store.deployLockName(id)]);
      if (Number(got) !== 1) return;
      const token = await store.takeLease(id, this.runnerId);
      if (token === undefined) return;
      const runner = new DeployRunner(store, id, token, lockConn, {
        runnerId: this.runnerId, observer: this.options.observer, retentionSeconds: this.options.retentionSeconds,
        migration: this.options.migration, replicas,
      });
      claimed = true;
      const done = runner.run().then((outcome) => {
        if (outcome === 'interrupted') this.retryAt.set(key, Date.now() + RETRY_AFTER_INTERRUPT_MS);
      }, () => {
        this.retryAt.set(key, Date.now() + RETRY_AFTER_INTERRUPT_MS);
      }).finally(() => {
        this.running.delete(key);
        return release(lockConn);
      });
      this.running.set(key, { runner, done });
    } finally {
      if (!claimed) await release(lockConn);
    }
  }

  private async sweep(store: StateStore): Promise<void> {
    const expired = await store.expiredRetained();
    if (expired.length === 0) return;
    const conn = await connect(store.target);
    try {
      for (const { table, deployId } of expired) {
        await conn.query(`DROP TABLE IF EXISTS ${quoteIdent(table)}`);
        await store.forgetRetained(table);
        await store.addEvent(deployId, undefined, `runner:${this.runnerId}`, 'retention',
          `dropped \`${table}\`: its retention ended, so this deploy can no longer be reverted`);
      }
    } finally {
      await conn.end();
    }
  }

  /** Stops claiming, and stops every running deploy without a verdict (they resume elsewhere or later). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    for (const { runner } of this.running.values()) runner.stop();
    await Promise.all([...this.running.values()].map((r) => r.done));
  }
}

async function release(conn: Connection): Promise<void> {
  await conn.end().catch(() => conn.destroy());
}
