// The bench's handle on a runner child process (bench/runner-child.ts): start it, kill -9 it, stop it,
// and read its resident memory from /proc. Children still alive when the bench exits are killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CHILD = new URL('./runner-child.ts', import.meta.url).pathname;
const live = new Set<ChildProcess>();
process.on('exit', () => { for (const child of live) child.kill('SIGKILL'); });

export class RunnerProcess {
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    live.add(child);
    this.exited = new Promise((resolve) => child.once('exit', () => { live.delete(child); resolve(); }));
  }

  /** Starts a runner on the database of `dsn` and waits until its worker runs. */
  static async start(dsn: string): Promise<RunnerProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: { ...process.env, BENCH_RUNNER_DSN: dsn }, stdio: ['ignore', 'pipe', 'inherit'],
    });
    const runner = new RunnerProcess(child);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('started')) resolve(); });
      void runner.exited.then(() => reject(new Error(`runner ${child.pid} exited before it started`)));
    });
    return runner;
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
