// kill -9 the runner while it copies, while it waits at a gated cut-over, under the cut-over lock and
// right after the swap: each new runner continues from the checkpoints (never recopying from the
// start), verifies before cutting over, and the table ends identical to a twin that got the same writes.
import { spawn, type ChildProcess } from 'node:child_process';
import type { RowDataPacket } from 'mysql2/promise';
import { afterEach, describe, expect, it } from 'vitest';
import { DeployService } from '../../runner/queue/deploy-service.ts';
import { serverDsn } from '../support/database.ts';
import { stopServiceAfterEach, twinFixture, waitForDeploy } from '../support/deploy-fixture.ts';

const CHILD = new URL('../support/runner-child.ts', import.meta.url).pathname;
const children: ChildProcess[] = [];

function startRunner(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return child;
}

function exited(child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runner ${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', () => { clearTimeout(timer); resolve(); });
  });
}

async function kill9(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  await exited(child);
}

const services = stopServiceAfterEach();
afterEach(async () => {
  for (const child of children.splice(0)) await kill9(child);
});

describe('resume after kill -9', () => {
  it('continues from its checkpoints at every phase and loses no write', async () => {
    const rows = 40_000;
    const fx = await twinFixture(rows, 3, 1);
    const state = `_sb_${fx.target.database}`;
    const env = { SCHEMABOT_TEST_DSN: serverDsn(fx.target.database), SCHEMABOT_TEST_STATE: state, SCHEMABOT_TEST_CHUNK: '50' };
    const service = services.use(new DeployService({ targets: { main: fx.target }, stateSchema: state }));
    const { deploy } = await service.submit({ target: 'main', files: fx.files, clientKey: 'resume', cutover: 'gated', actor: 'alice' });
    const copied = async () => (await service!.get(deploy.id)).migrations.find((m) => m.table === 't')!;

    // 1. Killed while copying: as soon as the copy checkpoint shows a few thousand rows.
    const copyCheckpoint = async () => {
      const [rows] = await fx.conn.query<RowDataPacket[]>(`SELECT rows_copied, done FROM \`${state}\`.checkpoints WHERE stream = 'copy'`);
      return rows[0] ? { rows: Number(rows[0].rows_copied), done: Number(rows[0].done) === 1 } : undefined;
    };
    let runner = startRunner(env);
    for (let c = await copyCheckpoint(); !c || c.rows < 3_000; c = await copyCheckpoint()) await new Promise((r) => setTimeout(r, 10));
    await kill9(runner);
    const atKill = (await copyCheckpoint())!;
    expect(atKill.done).toBe(false);

    // 2. A new runner resumes the copy (never from zero), then is killed while waiting at the gate.
    runner = startRunner(env);
    await waitForDeploy(service, deploy.id, 'ready-to-cutover');
    const events = await service.events(deploy.id);
    expect(events.some((e) => e.kind === 'resumed')).toBe(true);
    expect(events.some((e) => e.kind === 'fresh-start')).toBe(false);
    // The resumed copy went on from the checkpoint: its count started there, not at zero.
    expect((await copied()).rowsCopied).toBeGreaterThan(atKill.rows);
    await new Promise((r) => setTimeout(r, 500));
    await kill9(runner);

    // 3. Released; the next runner dies under the cut-over lock, after the drain, before the RENAME.
    await service.command(deploy.id, 'cutover', 'carol');
    runner = startRunner({ ...env, SCHEMABOT_TEST_CRASH_AT: 'before-rename' });
    await exited(runner);
    expect((await service.get(deploy.id)).state).toBe('cutting-over');

    // 4. The next one verifies again and swaps, then dies before recording it.
    runner = startRunner({ ...env, SCHEMABOT_TEST_CRASH_AT: 'after-swap' });
    await exited(runner);

    // 5. The last one finds the swap done and completes.
    runner = startRunner(env);
    const complete = await waitForDeploy(service, deploy.id, 'complete');
    const t = complete.migrations.find((m) => m.table === 't')!;
    // Progress carried across the kills: far less than two full copies.
    expect(t.rowsCopied).toBeLessThan(rows * 1.5);
    const result = await fx.compare();
    expect(result.definitions[0]).toBe(result.definitions[1]);
    expect(result.rows[0]).toEqual(result.rows[1]);
    const kinds = (await service.events(deploy.id)).map((e) => e.kind);
    expect(kinds.filter((k) => k === 'resumed').length).toBeGreaterThanOrEqual(3);
    await fx.conn.end();
  });

  it('a lost binlog stream is no verdict: the deploy resumes from its checkpoint', async () => {
    const fx = await twinFixture(3_000, 2, 2);
    const service = services.use(new DeployService({ targets: { main: fx.target }, pollMs: 100, stateSchema: `_sb_${fx.target.database}` }));
    const { deploy } = await service.submit({ target: 'main', files: fx.files, clientKey: 'stream', cutover: 'gated', actor: 'alice' });
    service.startWorker();
    await waitForDeploy(service, deploy.id, 'ready-to-cutover');
    // A network blip, a proxy or a DBA ends the binlog dump connection.
    const [dumps] = await fx.conn.query<RowDataPacket[]>("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'");
    expect(dumps.length).toBeGreaterThan(0);
    for (const { ID } of dumps) await fx.conn.query(`KILL ${Number(ID)}`);
    await waitForDeploy(service, deploy.id, async () => (await service.events(deploy.id)).some((e) => e.kind === 'resumed'));
    expect((await service.get(deploy.id)).state).toBe('ready-to-cutover');
    await service.command(deploy.id, 'cutover', 'carol');
    await waitForDeploy(service, deploy.id, 'complete');
    const result = await fx.compare();
    expect(result.definitions[0]).toBe(result.definitions[1]);
    expect(result.rows[0]).toEqual(result.rows[1]);
    await fx.conn.end();
  });
});
