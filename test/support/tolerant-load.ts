// A write load that survives the server going away: each writer runs one operation at a time on its
// own connection, and after an error drops that connection and opens a new one (waiting while the
// server is down). With twinWorkload an operation is one transaction on both tables, so a failed one
// changed neither or (a COMMIT that succeeded but whose reply was lost) both: the twin still mirrors.
import type { Connection } from 'mysql2/promise';
import { connect } from '../../runner/db/connect.ts';
import type { ConnectionTarget } from '../../runner/db/dsn.ts';
import type { WriteOperation } from '../../runner/embedded/write-load.ts';

export class TolerantLoad {
  private running = false;
  private loops: Promise<void>[] = [];
  readonly stats = { operations: 0, errors: 0, reconnects: 0 };

  constructor(private readonly target: ConnectionTarget, private readonly writers: number,
    private readonly operation: WriteOperation, private readonly pauseMs = 2) {}

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.writers }, (_, writer) => this.loop(writer));
  }

  private async open(): Promise<Connection> {
    const conn = await connect(this.target);
    // A connection lost while idle reports it as an 'error' event: without a listener that would crash the test.
    conn.on('error', () => undefined);
    return conn;
  }

  private async loop(writer: number): Promise<void> {
    let conn: Connection | undefined;
    while (this.running) {
      try {
        if (!conn) {
          conn = await this.open();
          this.stats.reconnects++;
        }
        await this.operation(conn, writer);
        this.stats.operations++;
      } catch {
        this.stats.errors++;
        conn?.destroy();
        conn = undefined;
        await new Promise((r) => setTimeout(r, 50));
      }
      if (this.pauseMs) await new Promise((r) => setTimeout(r, this.pauseMs));
    }
    await conn?.end().catch(() => conn?.destroy());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}
