// A runner child process (runner-child.ts) as a test drives it: started with its env and trace on,
// its stdout lines kept and waited for, stopped (SIGSTOP: a stalled owner whose connections stay
// open), continued, or killed. `connectionIds` names the server sessions the process holds, so a test
// can look at their transactions or KILL one of them.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Connection, RowDataPacket } from 'mysql2/promise';

const CHILD = new URL('./runner-child.ts', import.meta.url).pathname;

export class RunnerProcess {
  readonly lines: string[] = [];
  private readonly child: ChildProcess;
  private readonly waiters = new Set<() => void>();
  private exitedAt: Promise<void>;

  constructor(readonly name: string, env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: { ...process.env, ...env, SCHEMABOT_TEST_RUNNER: name, SCHEMABOT_TEST_TRACE: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let partial = '';
    // Always read: a full pipe would block the child on its next trace line.
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const parts = text.split('\n');
      partial = parts.pop()!;
      this.lines.push(...parts);
      this.wake();
    });
    this.exitedAt = new Promise((resolve) => this.child.once('exit', () => { this.wake(); resolve(); }));
  }

  /** How the runner names itself in leases and events. */
  get actor(): string {
    return `runner:${this.name}`;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get exit(): { code: number | null; signal: NodeJS.Signals | null } {
    return { code: this.child.exitCode, signal: this.child.signalCode };
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves with the first line at index `from` or later that matches; fails if the process exits first. */
  async waitForLine(pattern: RegExp, from = 0, timeoutMs = 30_000): Promise<{ line: string; index: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.lines.findIndex((l, i) => i >= from && pattern.test(l));
      if (index >= 0) return { line: this.lines[index], index };
      if (!this.alive) throw new Error(`runner ${this.name} exited (${JSON.stringify(this.exit)}) before printing ${pattern}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`runner ${this.name} did not print ${pattern} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(timer); this.waiters.delete(done); resolve(); };
        const timer = setTimeout(done, left);
        this.waiters.add(done);
      });
    }
  }

  /** Waits until the worker has finished `count` more ticks (each tick tries to claim every active deploy). */
  async ticks(count: number): Promise<void> {
    let from = this.lines.length;
    for (let i = 0; i < count; i++) from = (await this.waitForLine(/^poll /, from)).index + 1;
  }

  /** SIGSTOP, once the kernel reports the process stopped. */
  async pause(): Promise<void> {
    this.child.kill('SIGSTOP');
    await until(() => processState(this.pid) === 'T', `runner ${this.name} to stop`);
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  async exited(timeoutMs = 30_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exitedAt, new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`runner ${this.name} did not exit within ${timeoutMs} ms`)), timeoutMs);
    })]).finally(() => clearTimeout(timer));
  }

  async kill9(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGKILL');
    await this.exited();
  }

  /** The ids (CONNECTION_ID()) of the server sessions this process has open, matched by client port. */
  async connectionIds(conn: Connection): Promise<number[]> {
    const ports = localPortsOf(this.pid);
    const [rows] = await conn.query<RowDataPacket[]>('SELECT ID, HOST FROM information_schema.PROCESSLIST');
    return rows.filter((r) => ports.has(Number(String(r.HOST).split(':').pop()))).map((r) => Number(r.ID));
  }
}

/** One letter of /proc/<pid>/stat: R, S, T (stopped), Z… */
function processState(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return 'gone';
  }
}

/** Local TCP ports of a process's sockets: its fds' socket inodes, looked up in /proc/net/tcp{,6}. */
function localPortsOf(pid: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // Closed meanwhile.
    }
  }
  const ports = new Set<number>();
  for (const table of ['tcp', 'tcp6']) {
    for (const line of readFileSync(`/proc/${pid}/net/${table}`, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && inodes.has(cols[9])) ports.add(parseInt(cols[1].split(':')[1], 16));
    }
  }
  return ports;
}

/** Polls `condition` every 20 ms until it holds; fails after the timeout, naming what it waited for. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
