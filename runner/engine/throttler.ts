// Decides whether the row copy may run: too many running threads on the primary, or replicas too far
// behind (measured from the changelog heartbeat they replicate). Applying the binlog never pauses.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { quoteIdent } from '../db/quote.ts';
import { HEARTBEAT_ID } from './changelog.ts';
import { MigrationFailed } from './errors.ts';
import type { TableNames } from './table-names.ts';

export interface ThrottleLimits {
  maxThreadsRunning: number;
  maxLagMs: number;
  /** An operator's query (gh-ost's --throttle-query): the copy pauses while its first value is neither 0 nor NULL. */
  query?: string;
}

export interface Replica {
  label: string;
  target: ConnectionTarget;
  /** Opened on first use, and again after it failed (a replica may restart during a long copy). */
  conn?: Connection;
}

const CHECK_INTERVAL_MS = 250;
const QUERY_TIMEOUT_MS = 2_000;
/** Consecutive failed checks (about 10 s) after which the migration stops instead of pausing forever. */
const MAX_FAILED_CHECKS = 40;

export class Throttler {
  reason: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private failedChecks = 0;
  private fatal: Error | undefined;

  /** `extraReason` adds a caller's own reason to pause (a manual pause), checked with the others. */
  constructor(private readonly ctrl: Connection, private readonly replicas: Replica[], private readonly names: TableNames,
    private readonly limits: ThrottleLimits,
    private readonly extraReason: () => Promise<string | undefined> | string | undefined = () => undefined) {}

  /** Checks once right away, then keeps checking in the background. */
  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), CHECK_INTERVAL_MS);
  }

  /** One check at a time: a caller that asks during a background check gets that check's result. */
  check(): Promise<void> {
    this.checking ??= this.runCheck().finally(() => { this.checking = undefined; });
    return this.checking;
  }

  private async runCheck(): Promise<void> {
    try {
      this.reason = (await this.extraReason()) ?? (await this.threadsReason()) ?? (await this.queryReason()) ?? (await this.lagReason());
      this.failedChecks = 0;
    } catch (err) {
      this.reason = `throttle check failed: ${(err as Error).message}`;
      if (++this.failedChecks >= MAX_FAILED_CHECKS) {
        this.fatal = new MigrationFailed(`throttle checks kept failing for ${MAX_FAILED_CHECKS} attempts: ${(err as Error).message}`);
      }
    }
  }

  private async threadsReason(): Promise<string | undefined> {
    if (!this.limits.maxThreadsRunning) return undefined;
    const [rows] = await this.ctrl.query<RowDataPacket[]>({ sql: "SHOW GLOBAL STATUS LIKE 'Threads_running'", timeout: QUERY_TIMEOUT_MS });
    const running = Number(rows[0]?.Value ?? 0);
    return running > this.limits.maxThreadsRunning
      ? `Threads_running=${running} > ${this.limits.maxThreadsRunning}` : undefined;
  }

  private async queryReason(): Promise<string | undefined> {
    if (!this.limits.query) return undefined;
    const [rows] = await this.ctrl.query<RowDataPacket[]>({ sql: this.limits.query, timeout: QUERY_TIMEOUT_MS, rowsAsArray: true });
    const value = (rows as unknown as unknown[][])[0]?.[0];
    return value === undefined || value === null || Number(value) === 0 ? undefined : `throttle query returned ${String(value).slice(0, 40)}`;
  }

  /** Milliseconds since the heartbeat this replica has applied; infinite when it cannot be read. */
  private async replicaLag(replica: Replica): Promise<{ lag: number; error?: string }> {
    try {
      replica.conn ??= await connect(replica.target);
      const [rows] = await replica.conn.query<RowDataPacket[]>({
        sql: `SELECT value FROM ${quoteIdent(this.names.changelog)} WHERE id = ?`, timeout: QUERY_TIMEOUT_MS,
      }, [HEARTBEAT_ID]);
      return { lag: rows.length > 0 ? Date.now() - Number(rows[0].value) : Number.POSITIVE_INFINITY };
    } catch (err) {
      replica.conn?.destroy();
      replica.conn = undefined;
      return { lag: Number.POSITIVE_INFINITY, error: (err as Error).message };
    }
  }

  private async lagReason(): Promise<string | undefined> {
    let worst: { label: string; lag: number; error?: string } | undefined;
    for (const replica of this.replicas) {
      const { lag, error } = await this.replicaLag(replica);
      if (!worst || lag > worst.lag) worst = { label: replica.label, lag, error };
    }
    if (!worst || worst.lag <= this.limits.maxLagMs) return undefined;
    if (worst.error) return `replica ${worst.label} unreachable: ${worst.error}`;
    return Number.isFinite(worst.lag) ? `replica ${worst.label} lag ${worst.lag} ms > ${this.limits.maxLagMs} ms`
      : `replica ${worst.label} has no heartbeat yet`;
  }

  /**
   * Resolves once nothing throttles; calls `onWait` with the reason while waiting. `fresh` checks first
   * instead of trusting the last background check (before a heavy step, not for every chunk).
   */
  async wait(onWait: (reason: string) => void, fresh = false): Promise<void> {
    if (fresh) {
      // A check already under way may have started before the caller's moment: wait for it, then check again.
      await this.checking;
      await this.check();
    }
    while (this.reason) {
      if (this.fatal) throw this.fatal;
      onWait(this.reason);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const replica of this.replicas) replica.conn?.destroy();
  }
}
