// A throwaway private MariaDB server: own datadir, random port, row binlog with full metadata.
// Used by the test harness, `schemabot demo` and the benchmarks.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql, { type RowDataPacket } from 'mysql2/promise';

export interface EmbeddedServer {
  port: number;
  socket: string;
  datadir: string;
  /** mysql://root@127.0.0.1:port/db */
  dsn(database: string): string;
  stop(): Promise<void>;
}

const SEARCH_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/usr/local/mysql/bin'];

function findBinary(names: string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), ...SEARCH_DIRS];
  for (const name of names) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      if (dir && existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

export const INSTALL_COMMAND = 'sudo apt-get update && sudo apt-get install -y mariadb-server';

/** Finds mariadbd/mysqld; installs mariadb-server with apt when running as root, else explains how. */
export function ensureServerBinaries(): { server: string; installDb: string } {
  let server = findBinary(['mariadbd', 'mysqld']);
  let installDb = findBinary(['mariadb-install-db', 'mysql_install_db']);
  if (!server || !installDb) {
    if (process.getuid?.() !== 0) {
      throw new Error(`No MariaDB server binary (mariadbd/mysqld) found. Install it with:\n  ${INSTALL_COMMAND}`);
    }
    process.stderr.write('mariadbd not found: installing mariadb-server with apt-get…\n');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'mariadb-server']]) {
      const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
      if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed; run: ${INSTALL_COMMAND}`);
    }
    server = findBinary(['mariadbd', 'mysqld']);
    installDb = findBinary(['mariadb-install-db', 'mysql_install_db']);
    if (!server || !installDb) throw new Error('mariadb-server installed but mariadbd is still missing');
  }
  return { server, installDb };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface StartOptions {
  bufferPool?: string;
  /** Extra mariadbd flags, e.g. ['--server-id=2'] for a replica. */
  extraArgs?: string[];
}

function serverArgs(datadir: string, socket: string, port: number, options: StartOptions): string[] {
  return [
    '--no-defaults', `--datadir=${datadir}`, `--socket=${socket}`, `--port=${port}`, '--bind-address=127.0.0.1',
    '--log-bin=mysql-bin', '--binlog-format=ROW', '--binlog-row-image=FULL', '--binlog-row-metadata=FULL',
    '--server-id=1', '--skip-name-resolve', '--character-set-server=utf8mb4', '--collation-server=utf8mb4_general_ci',
    `--innodb-buffer-pool-size=${options.bufferPool ?? '512M'}`, '--innodb-log-file-size=256M',
    '--innodb-flush-log-at-trx-commit=2', '--sync-binlog=0', '--max-connections=500',
    `--pid-file=${join(datadir, 'mysqld.pid')}`, `--log-error=${join(datadir, 'error.log')}`, `--tmpdir=${datadir}`,
    ...(process.getuid?.() === 0 ? ['--user=root'] : []),
    ...(options.extraArgs ?? []),
  ];
}

/**
 * Starts mariadbd on a free port. The port is free when picked but may be taken before mariadbd binds
 * it: then it exits and another port is tried. Readiness is checked on this server's own datadir,
 * never on whatever else answers the port.
 */
async function launch(server: string, datadir: string, socket: string, options: StartOptions):
  Promise<{ child: ChildProcess; port: number; hasExited: () => boolean }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(server, serverArgs(datadir, socket, port, options), { stdio: 'ignore' });
    let exited = false;
    child.once('exit', () => { exited = true; });
    const hasExited = () => exited;
    if (await waitUntilServing(datadir, port, hasExited)) return { child, port, hasExited };
    if (!portTaken(datadir) || attempt >= 3) throw new Error(`mariadbd exited during startup; see ${join(datadir, 'error.log')}`);
  }
}

/** True once the server of `datadir` answers on `port`; false if it exited first (also used to restart one in tests). */
export async function waitUntilServing(datadir: string, port: number, hasExited: () => boolean): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (hasExited()) return false;
    try {
      const conn = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root' });
      const [rows] = await conn.query<RowDataPacket[]>('SELECT @@datadir AS dir');
      await conn.end();
      if (realpathSync(String(rows[0].dir)) === realpathSync(datadir)) return true;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`mariadbd did not accept connections within 30 s: ${String(err)}`);
    }
    if (Date.now() > deadline) throw new Error(`another server answers on port ${port}, and mariadbd did not start within 30 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function portTaken(datadir: string): boolean {
  try {
    return /Address already in use|Bind on TCP\/IP port/.test(readFileSync(join(datadir, 'error.log'), 'utf8'));
  } catch {
    return false;
  }
}

export async function startEmbeddedServer(options: StartOptions = {}): Promise<EmbeddedServer> {
  const { server, installDb } = ensureServerBinaries();
  const datadir = mkdtempSync(join(tmpdir(), 'schemabot-db-'));
  const socket = join(datadir, 'mysqld.sock');
  const init = spawnSync(installDb, [
    '--no-defaults', `--datadir=${datadir}`, '--auth-root-authentication-method=normal', '--skip-test-db',
    // Servers started side by side (tests, benchmarks) must not share temporary files in /tmp.
    `--tmpdir=${datadir}`,
    ...(process.getuid?.() === 0 ? ['--user=root'] : []),
  ], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`mariadb-install-db failed: ${init.stderr || init.stdout}`);

  const { child, port, hasExited } = await launch(server, datadir, socket, options);
  return {
    port,
    socket,
    datadir,
    dsn: (database) => `mysql://root@127.0.0.1:${port}/${database}`,
    async stop() {
      if (!hasExited()) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await done;
        clearTimeout(timer);
      }
      rmSync(datadir, { recursive: true, force: true });
    },
  };
}
