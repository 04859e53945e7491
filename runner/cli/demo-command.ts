// `schemabot demo`: the whole story on a throwaway local MariaDB, through the runner service. The plan
// as the pull request comment shows it, then a gated deploy under live writers: copy, a wait for the
// release manager, the cut-over, and a revert that keeps every write made since.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import type { Connection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import { startEmbeddedServer } from '../embedded/mariadb.ts';
import { createSampleDatabase, usersWriteMix } from '../embedded/sample-data.ts';
import { WriteLoad, type WriteLoadStats, type WriteOperation } from '../embedded/write-load.ts';
import { FINAL_STATES, type DeployView, type RunnerService } from '../queue/deploy-model.ts';
import { DeployService } from '../queue/deploy-service.ts';

const TARGET = 'demo';
const PROGRESS_EVERY_MS = 1_000;
const GATE_WAIT_MS = 2_000;

/**
 * The pull request of the demo: schemas/users.sql with a wider name and balance (a DECIMAL change
 * needs a table copy, so this runs as an online migration), a new column and an index.
 */
export function desiredUsers(): string {
  return readFileSync(new URL('../../schemas/users.sql', import.meta.url), 'utf8')
    .replace('name VARCHAR(100) NOT NULL', 'name VARCHAR(200) NOT NULL')
    .replace('balance DECIMAL(12,2)', 'balance DECIMAL(14,2)')
    .replace('  PRIMARY KEY (id),', '  last_login_at DATETIME NULL,\n  PRIMARY KEY (id),')
    .replace('  UNIQUE KEY uk_email (email)', '  UNIQUE KEY uk_email (email),\n  KEY idx_status (status)');
}

/**
 * Polls a deploy until `until(view)`, handing every view to `onView`. A deploy that ends (failed,
 * aborted, or a revert that failed and left it as it was) without getting there throws its error.
 */
export async function followDeploy(service: RunnerService, id: string, until: (deploy: DeployView) => boolean,
  onView: (deploy: DeployView) => void = () => {}, pollMs = 250): Promise<DeployView> {
  for (;;) {
    const deploy = await service.get(id);
    onView(deploy);
    if (until(deploy)) return deploy;
    if (FINAL_STATES.includes(deploy.state) && (deploy.error || deploy.state === 'failed' || deploy.state === 'aborted')) {
      throw new Error(`deploy ${id} is ${deploy.state}: ${deploy.error ?? 'no reason recorded'}`);
    }
    await sleep(pollMs);
  }
}

/**
 * Prints a progress line when the stage changes, and at most once a second while it stays: copy
 * figures while the deploy runs, then the binlog it keeps applying (at the gate, cut-over, revert).
 */
function progressPrinter(out: (line: string) => void): (deploy: DeployView) => void {
  const started = Date.now();
  let last = { stage: '', at: 0 };
  return (deploy) => {
    const m = deploy.migrations.find((x) => x.method === 'online');
    if (!m) return;
    const stage = `${deploy.state}/${m.stage}`;
    if (stage === last.stage && Date.now() - last.at < PROGRESS_EVERY_MS) return;
    last = { stage, at: Date.now() };
    const copy = deploy.state === 'running'
      ? `${m.percent.toFixed(1).padStart(5)}%  ${m.rowsCopied}/${m.rowsTotal} rows  ${Math.round(m.rowsPerSecond)} rows/s  `
        + `ETA ${m.etaSeconds === undefined ? '--' : `${m.etaSeconds} s`}  `
      : '';
    out(`  ${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${stage.padEnd(34)} ${copy}`
      + `binlog applied ${m.binlogRowsApplied}  lag ${m.lagMs} ms${m.throttle ? `  throttled: ${m.throttle}` : ''}`);
  };
}

/** usersWriteMix, counting the rows its INSERTs add and its DELETEs remove: the count `users` must end with. */
function countedWriteMix(rows: number): { operation: WriteOperation; ledger: { inserted: number; deleted: number } } {
  const ledger = { inserted: 0, deleted: 0 };
  const mix = usersWriteMix(rows);
  const counting = (conn: Connection) => new Proxy(conn, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver);
      return async (sql: string, values?: unknown[]) => {
        const result = await target.query(sql, values);
        const affected = (result[0] as ResultSetHeader).affectedRows;
        if (sql.startsWith('INSERT')) ledger.inserted += affected;
        if (sql.startsWith('DELETE')) ledger.deleted += affected;
        return result;
      };
    },
  });
  return { operation: (conn, writer) => mix(counting(conn), writer), ledger };
}

/** The parts of `users` the demo changes, as they are now. */
async function usersShape(conn: Connection): Promise<string> {
  const [columns] = await conn.query<RowDataPacket[]>(`SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users' AND COLUMN_NAME IN ('name', 'balance', 'last_login_at') ORDER BY ORDINAL_POSITION`);
  const [index] = await conn.query<RowDataPacket[]>(`SELECT 1 FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users' AND INDEX_NAME = 'idx_status' LIMIT 1`);
  const present = columns.map((c) => `${c.name} ${c.type}`);
  if (!columns.some((c) => c.name === 'last_login_at')) present.push('no last_login_at');
  return [...present, index.length > 0 ? 'KEY idx_status' : 'no idx_status'].join(', ');
}

async function rowCount(conn: Connection): Promise<number> {
  const [[row]] = await conn.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM users');
  return Number(row.n);
}

/** The message of the deploy's last `kind` event (about `table`, when given). */
async function lastEvent(service: RunnerService, id: string, kind: string, table?: string): Promise<string> {
  const events = (await service.events(id)).filter((e) => e.kind === kind && (table === undefined || e.table === table));
  return events.at(-1)?.message ?? `(no ${kind} event)`;
}

interface Demo {
  service: DeployService;
  conn: Connection;
  id: string;
  out: (line: string) => void;
  progress: (deploy: DeployView) => void;
}

/** Copies under the writers, waits at the gate (still applying the binlog), and cuts over once released. */
async function deployThroughGate(demo: Demo): Promise<void> {
  const { service, id, out, progress } = demo;
  const ready = await followDeploy(service, id, (d) => d.state === 'ready-to-cutover', progress);
  out(`\nready to cut over: waiting for a release manager (${GATE_WAIT_MS / 1000} s here); the shadow table keeps applying the writes`);
  await sleep(GATE_WAIT_MS);
  const applied = (d: DeployView) => d.migrations.find((m) => m.method === 'online')!.binlogRowsApplied;
  out(`  binlog row changes applied: ${applied(ready)} when ready, ${applied(await service.get(id))} after the wait`);
  await service.command(id, 'cutover', 'release-manager');
  out('release-manager released the cut-over');
  await followDeploy(service, id, (d) => d.state === 'complete', progress);
  out(`  ${await lastEvent(service, id, 'complete', 'users')}`);
  out('\nwhat changed:');
  out(`  users: ${await usersShape(demo.conn)}; ${await rowCount(demo.conn)} rows`);
}

/** Reverts under the writers: the impact first, then the swap back. */
async function revert(demo: Demo): Promise<void> {
  const { service, id, out } = demo;
  out('\noncall reverts the deploy; the revert says first what it costs:');
  await service.command(id, 'revert', 'oncall');
  for (const line of (await lastEvent(service, id, 'revert-impact')).split('\n')) out(`  ${line}`);
  await followDeploy(service, id, (d) => d.state === 'reverted', demo.progress);
  out(`  ${await lastEvent(service, id, 'reverted', 'users')}`);
}

/** With the writers stopped: the old shape is back, and the row count is what the writers' ledger says. */
async function checkRowsKept(demo: Demo, rows: { initial: number; inserted: number; deleted: number }, stats: WriteLoadStats): Promise<void> {
  const { conn, out } = demo;
  const expected = rows.initial + rows.inserted - rows.deleted;
  const actual = await rowCount(conn);
  out('\nafter the revert, writers stopped:');
  out(`  users: ${await usersShape(conn)}`);
  out(`  rows: ${rows.initial} + ${rows.inserted} inserted - ${rows.deleted} deleted = ${expected} expected; SELECT COUNT(*) says ${actual}: `
    + `${actual === expected ? 'every row is there' : 'MISMATCH'}`);
  out(`  writers: ${stats.operations} writes, ${stats.errors} errors, longest single write ${stats.longestStallMs.toFixed(1)} ms`);
  if (stats.errors > 0) throw new Error(`writers saw ${stats.errors} errors, first: ${stats.firstError}`);
  if (actual !== expected) throw new Error(`users has ${actual} rows, the writers' ledger says ${expected}`);
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('end to end on a throwaway local MariaDB: plan, gated deploy under live writes, cut-over, revert')
    .option('--rows <n>', 'rows in the sample users table', (v) => Number(v), 200_000)
    .option('--writers <n>', 'concurrent writers during the deploy', (v) => Number(v), 4)
    .action(async (opts: { rows: number; writers: number }) => {
      const out = (line: string) => process.stdout.write(`${line}\n`);
      out('starting a throwaway MariaDB server…');
      const server = await startEmbeddedServer();
      let service: DeployService | undefined;
      let load: WriteLoad | undefined;
      let conn: Connection | undefined;
      try {
        out(`creating schemas/users.sql with ${opts.rows} rows…`);
        const target = await createSampleDatabase(server, 'demo', opts.rows);
        conn = await connect(target);
        service = new DeployService({ targets: { [TARGET]: target }, stateSchema: '_schemabot', pollMs: 200 });
        const files = { 'users.sql': desiredUsers() };
        out('planning the change to schemas/users.sql (what the pull request comment shows):\n');
        out((await service.plan({ target: TARGET, files })).markdown);

        const writes = countedWriteMix(opts.rows);
        load = new WriteLoad(target, opts.writers, writes.operation, 2);
        await load.start();
        out(`${opts.writers} writers running (updates, inserts, deletes on users)`);
        const { deploy } = await service.submit({ target: TARGET, files, clientKey: 'demo', cutover: 'gated', actor: 'octocat' });
        out(`submitted gated deploy ${deploy.id}; the runner copies online:`);
        service.startWorker();
        const demo: Demo = { service, conn, id: deploy.id, out, progress: progressPrinter(out) };
        await deployThroughGate(demo);
        await revert(demo);
        const stats = await load.stop();
        load = undefined;
        await checkRowsKept(demo, { initial: opts.rows, ...writes.ledger }, stats);
      } finally {
        await load?.stop();
        await conn?.end().catch(() => undefined);
        await service?.stop();
        await server.stop();
      }
    });
}
