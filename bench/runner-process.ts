// The bench's handle on a runner child process (bench/runner-child.ts): start it, kill -9 it, stop it,
// and read its resident memory from /proc.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { startBenchChild } from './child-process.ts';

export class RunnerProcess {
  private constructor(private readonly child: ChildProcess, private readonly exited: Promise<void>) {}

  /** Starts a runner on the database of `dsn` and waits until its worker runs. */
  static async start(dsn: string): Promise<RunnerProcess> {
    const { child, exited } = await startBenchChild(new URL('./runner-child.ts', import.meta.url), { BENCH_RUNNER_DSN: dsn });
    return new RunnerProcess(child, exited);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resident set size, bytes (VmRSS); 0 once the process is gone. */
  rssBytes(): number {
    try {
      const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      return kb ? Number(kb[1]) * 1024 : 0;
    } catch {
      return 0;
    }
  }

  /** Samples the RSS every `everyMs` until the returned function is called; that returns the peak. */
  samplePeakRss(everyMs = 200): () => number {
    let peak = this.rssBytes();
    const timer = setInterval(() => { peak = Math.max(peak, this.rssBytes()); }, everyMs);
    return () => {
      clearInterval(timer);
      return Math.max(peak, this.rssBytes());
    };
  }

  async kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: the runner stops its worker and exits. */
  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await this.exited;
  }
}
