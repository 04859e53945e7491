// Progress on stderr: a live bar on a terminal, plain timestamped lines otherwise (logs, CI).
import cliProgress from 'cli-progress';

export type MigrationState =
  | 'preparing' | 'copying' | 'building-indexes' | 'catching-up' | 'ready-to-cutover' | 'verifying' | 'cutting-over' | 'complete';

export interface ProgressSnapshot {
  state: MigrationState;
  rowsCopied: number;
  rowsTotal: number;
  percent: number;
  rowsPerSecond: number;
  binlogRowsApplied: number;
  /** Binlog applier lag from the changelog heartbeat, ms. */
  lagMs: number;
  etaSeconds: number | undefined;
  throttle: string | undefined;
  /** What the cut-over waits on (connections holding its tables), while it does. */
  blocker?: string;
}

export interface ProgressSink {
  update(snapshot: ProgressSnapshot): void;
  log(line: string): void;
  stop(): void;
}

export const silentProgress: ProgressSink = { update() {}, log() {}, stop() {} };

function eta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function describe(p: ProgressSnapshot): string {
  return `${p.state} ${p.percent.toFixed(1)}% ${p.rowsCopied}/${p.rowsTotal} rows, ${Math.round(p.rowsPerSecond)} rows/s, `
    + `binlog applied ${p.binlogRowsApplied}, lag ${p.lagMs} ms, ETA ${eta(p.etaSeconds)}`
    + (p.throttle ? `, throttled: ${p.throttle}` : '');
}

class LineProgress implements ProgressSink {
  private lastAt = 0;
  private lastState: MigrationState | undefined;
  constructor(private readonly out: NodeJS.WritableStream, private readonly intervalMs: number) {}
  update(p: ProgressSnapshot): void {
    const now = Date.now();
    if (p.state === this.lastState && now - this.lastAt < this.intervalMs) return;
    this.lastAt = now;
    this.lastState = p.state;
    this.out.write(`${new Date(now).toISOString()} ${describe(p)}\n`);
  }
  log(line: string): void {
    this.out.write(`${new Date().toISOString()} ${line}\n`);
  }
  stop(): void {}
}

class BarProgress implements ProgressSink {
  private readonly bar = new cliProgress.SingleBar({
    format: '{state} |{bar}| {percentage}% {value}/{total} rows | {rate} rows/s | lag {lag} ms | ETA {etaText}{throttle}',
    hideCursor: true,
    stream: process.stderr,
  }, cliProgress.Presets.shades_classic);
  private started = false;
  update(p: ProgressSnapshot): void {
    const payload = {
      state: p.state.padEnd(16), rate: Math.round(p.rowsPerSecond), lag: p.lagMs, etaText: eta(p.etaSeconds),
      throttle: p.throttle ? ` | throttled: ${p.throttle}` : '',
    };
    const total = Math.max(p.rowsTotal, p.rowsCopied, 1);
    if (!this.started) {
      this.bar.start(total, p.rowsCopied, payload);
      this.started = true;
    } else {
      this.bar.setTotal(total);
      this.bar.update(p.rowsCopied, payload);
    }
  }
  log(line: string): void {
    if (this.started) this.bar.stop();
    this.started = false;
    process.stderr.write(`${line}\n`);
  }
  stop(): void {
    if (this.started) this.bar.stop();
    this.started = false;
  }
}

export function stderrProgress(): ProgressSink {
  return process.stderr.isTTY ? new BarProgress() : new LineProgress(process.stderr, 2_000);
}
