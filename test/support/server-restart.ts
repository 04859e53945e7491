// Restarts a private MariaDB (runner/embedded/mariadb.ts) on the same datadir and port: the server
// process is found by its pid file, stopped cleanly with SIGTERM, and started again with exactly the
// command line it had. `stop()` stops the current process and removes the datadir (the embedded
// server's own stop() only removes it once its first process is gone).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitUntilServing, type EmbeddedServer } from '../../runner/embedded/mariadb.ts';

export class RestartableServer {
  private current: ChildProcess | undefined;

  constructor(readonly server: EmbeddedServer) {}

  private pid(): number {
    return Number(readFileSync(join(this.server.datadir, 'mysqld.pid'), 'utf8').trim());
  }

  /** SIGTERM (a clean shutdown: every committed transaction is on disk), then waits until the process is gone. */
  async shutdown(): Promise<string[]> {
    const pid = this.pid();
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (alive(pid)) {
      if (Date.now() > deadline) throw new Error(`mariadbd ${pid} did not stop within 30 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return argv;
  }

  /** Starts the server again with the command line `shutdown` returned; resolves once it accepts connections. */
  async start(argv: string[]): Promise<void> {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
    this.current = child;
    let exited = false;
    child.once('exit', () => { exited = true; });
    if (!(await waitUntilServing(this.server.datadir, this.server.port, () => exited))) {
      throw new Error(`mariadbd exited while restarting; see ${join(this.server.datadir, 'error.log')}`);
    }
  }

  async stop(): Promise<void> {
    const child = this.current;
    if (child && child.exitCode === null && child.signalCode === null) {
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    }
    await this.server.stop();
  }
}

/** Running or stopped, but not exited (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
