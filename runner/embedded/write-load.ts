// A steady concurrent write load for demos, benchmarks and tests: N writers each run one operation
// at a time, and the longest single operation (e.g. a write blocked by cut-over) is recorded.
import type { Connection } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';

export type WriteOperation = (conn: Connection, writer: number) => Promise<void>;

export interface WriteLoadStats {
  operations: number;
  errors: number;
  longestStallMs: number;
  firstError?: string;
}

export class WriteLoad {
  private running = false;
  private loops: Promise<void>[] = [];
  readonly stats: WriteLoadStats = { operations: 0, errors: 0, longestStallMs: 0 };

  /** `pauseMs` between operations per writer keeps the load steady rather than saturating. */
  constructor(private readonly target: ConnectionTarget, private readonly writers: number,
    private readonly operation: WriteOperation, private readonly pauseMs = 0) {}

  async start(): Promise<void> {
    this.running = true;
    const conns = await Promise.all(Array.from({ length: this.writers }, () => connect(this.target)));
    this.loops = conns.map((conn, writer) => this.loop(conn, writer));
  }

  private async loop(conn: Connection, writer: number): Promise<void> {
    try {
      while (this.running) {
        const started = performance.now();
        try {
          await this.operation(conn, writer);
          this.stats.operations++;
        } catch (err) {
          this.stats.errors++;
          this.stats.firstError ??= (err as Error).message;
        }
        this.stats.longestStallMs = Math.max(this.stats.longestStallMs, performance.now() - started);
        if (this.pauseMs) await new Promise((r) => setTimeout(r, this.pauseMs));
      }
    } finally {
      await conn.end().catch(() => undefined);
    }
  }

  async stop(): Promise<WriteLoadStats> {
    this.running = false;
    await Promise.all(this.loops);
    return this.stats;
  }
}
