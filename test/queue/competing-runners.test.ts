// Several runners against one state schema: exactly one drives a deploy at a time. A stalled owner
// (SIGSTOP, its connections open) keeps the deploy; once its lock connection is gone another runner
// takes the lease with a new fencing token and finishes, and the stalled owner, continued, writes
// nothing. Each ends with the table equal to a twin that got the same writes.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeployEvent } from '../../runner/queue/deploy-model.ts';
import { DeployService } from '../../runner/queue/deploy-service.ts';
import { serverDsn } from '../support/database.ts';
import { printDeploys, twinFixture, waitForDeploy, type TwinFixture } from '../support/deploy-fixture.ts';
import { RunnerProcess, until } from '../support/runner-process.ts';

const runners: RunnerProcess[] = [];
let service: DeployService | undefined;
let fx: TwinFixture | undefined;
let failed = false;
beforeEach((context) => context.onTestFailed(() => { failed = true; }));
afterEach(async (context) => {
  if (failed || context.task.result?.state === 'fail') {
    failed = true;
    for (const r of runners) console.log(`${r.name}:\n${r.lines.filter((l) => !/^(poll|checkpoint) /.test(l)).join('\n')}`);
  }
  for (const r of runners.splice(0)) {
    r.resume();
    await r.kill9();
  }
  if (service && failed) await printDeploys(service);
  failed = false;
  await service?.stop();
  service = undefined;
  await fx?.load.stop();
  await fx?.conn.end();
  fx = undefined;
});

async function setup(rows: number, chunk: number): Promise<{ fx: TwinFixture; state: string; env: Record<string, string>; service: DeployService }> {
  fx = await twinFixture(rows, 2, 2);
  const state = `_sb_${fx.target.database}`;
  service = new DeployService({ targets: { main: fx.target }, stateSchema: state });
  // The state tables exist before any runner starts, so that the runners only compete for the deploy.
  await service.list({});
  return { fx, state, service, env: { SCHEMABOT_TEST_DSN: serverDsn(fx.target.database), SCHEMABOT_TEST_STATE: state, SCHEMABOT_TEST_CHUNK: String(chunk) } };
}

function startRunner(name: string, env: Record<string, string>): RunnerProcess {
  const runner = new RunnerProcess(name, env);
  runners.push(runner);
  return runner;
}

function number(id: string): number {
  return Number(id.split('.').pop());
}

async function lease(conn: Connection, state: string, id: string): Promise<{ owner: string; token: number }> {
  const [[row]] = await conn.query<RowDataPacket[]>(`SELECT owner, lease_token FROM \`${state}\`.deploys WHERE id = ?`, [number(id)]);
  return { owner: row.owner, token: Number(row.lease_token) };
}

async function copiedRows(conn: Connection, state: string): Promise<number> {
  const [rows] = await conn.query<RowDataPacket[]>(`SELECT rows_copied FROM \`${state}\`.checkpoints WHERE stream = 'copy'`);
  return rows.length > 0 ? Number(rows[0].rows_copied) : 0;
}

const runnerEvents = (events: DeployEvent[]) => events.filter((e) => e.actor.startsWith('runner:'));

/**
 * Stops `runner` (SIGSTOP) and waits until the statements it had already sent are done; its session ids.
 * A statement waiting for a row lock counts as done: the lock may be held by the runner's own open
 * transaction (a copy chunk stopped before its COMMIT), which nothing releases while the runner is
 * stopped, and it can end only in a lock-wait timeout or in a write to the shadow table.
 */
async function pauseAndSettle(runner: RunnerProcess, conn: Connection): Promise<number[]> {
  await runner.pause();
  const ids = await runner.connectionIds(conn);
  let busy: RowDataPacket[] = [];
  await until(async () => {
    [busy] = await conn.query<RowDataPacket[]>(
      `SELECT p.ID, p.COMMAND, p.STATE, p.TIME, LEFT(p.INFO, 200) AS INFO, t.trx_state FROM information_schema.PROCESSLIST p
         LEFT JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID
        WHERE p.ID IN (?) AND p.COMMAND NOT IN ('Sleep', 'Binlog Dump') AND COALESCE(t.trx_state, '') <> 'LOCK WAIT'`, [ids]);
    return busy.length === 0;
  }, `the sessions of ${runner.name} to finish their statements`).catch((err: Error) => {
    throw new Error(`${err.message}; still busy: ${JSON.stringify(busy)}`);
  });
  return ids;
}

/**
 * As pauseAndSettle, then kills (rolls back) any session of the runner left inside a transaction that
 * holds locks: a stalled runner cut off from the network loses those connections too, and their row
 * locks would otherwise hold up everyone else.
 */
async function pauseAndCutTransactions(runner: RunnerProcess, conn: Connection): Promise<number[]> {
  const ids = await pauseAndSettle(runner, conn);
  const [open] = await conn.query<RowDataPacket[]>(`SELECT trx_mysql_thread_id AS id FROM information_schema.INNODB_TRX
    WHERE trx_mysql_thread_id IN (?) AND (trx_lock_structs > 0 OR trx_rows_modified > 0)`, [ids]);
  for (const { id } of open) await conn.query(`KILL ${Number(id)}`);
  return ids;
}

async function expectTwinEqual(f: TwinFixture): Promise<void> {
  const result = await f.compare();
  expect(result.definitions[0]).toBe(result.definitions[1]);
  expect(result.rows[0].length).toBeGreaterThan(0);
  expect(result.rows[0]).toEqual(result.rows[1]);
}

/**
 * Runner A owns a deploy of 30,000 rows and has copied 2,000 of them; runner B is polling too. Small
 * chunks keep the copy going for seconds, so that the test acts while it copies.
 */
async function ownerCopyingWithRival(clientKey: string) {
  const { fx, state, env, service } = await setup(30_000, 20);
  const a = startRunner('runner-a', env);
  await a.ticks(1);
  const { deploy } = await service.submit({ target: 'main', files: fx.files, clientKey, cutover: 'auto', actor: 'alice' });
  await until(async () => (await copiedRows(fx.conn, state)) >= 2_000, 'runner A to copy 2000 rows');
  const b = startRunner('runner-b', env);
  await b.ticks(1);
  return { fx, state, service, a, b, deploy, id: number(deploy.id) };
}

describe('competing runners', () => {
  it('two runners started together: exactly one drives the deploy', async () => {
    const { fx, env, service } = await setup(6_000, 20);
    const a = startRunner('runner-a', env);
    const b = startRunner('runner-b', env);
    // Both workers are ticking before the deploy exists: they race for it.
    await Promise.all([a.ticks(1), b.ticks(1)]);
    const { deploy } = await service.submit({ target: 'main', files: fx.files, clientKey: 'race', cutover: 'auto', actor: 'alice' });
    const id = number(deploy.id);
    await waitForDeploy(service, deploy.id, 'complete');

    const drivers = runnerEvents(await service.events(deploy.id));
    const actors = new Set(drivers.map((e) => e.actor));
    expect(actors.size).toBe(1);
    const winner = [a, b].find((r) => actors.has(r.actor))!;
    const loser = winner === a ? b : a;
    expect(drivers.map((e) => e.kind)).toEqual(expect.arrayContaining(['started', 'ready', 'cutover-started', 'complete']));
    expect(drivers.some((e) => e.kind === 'resumed' || e.kind === 'fresh-start')).toBe(false);
    // The loser saw the deploy while the winner worked on it, and never got it.
    expect(loser.lines.filter((l) => l === `poll ${id}`).length).toBeGreaterThanOrEqual(3);
    expect(winner.lines.filter((l) => l.startsWith(`lease ${id} `))).toEqual([`lease ${id} 1`]);
    expect(loser.lines.filter((l) => l.startsWith('checkpoint '))).toEqual([]);
    await expectTwinEqual(fx);
  });

  it('a stalled owner keeps the deploy while its lock connection lives; killed, another runner takes over', async () => {
    const { fx, state, service, a, b, deploy, id } = await ownerCopyingWithRival('stalled');

    // Stopped wherever it is, perhaps inside a copy transaction: its sessions stay open.
    await pauseAndSettle(a, fx.conn);
    const held = await lease(fx.conn, state, deploy.id);
    expect(held).toEqual({ owner: 'runner-a', token: 1 });
    const copiedAtStall = await copiedRows(fx.conn, state);
    // B tries to claim the deploy on each of these ticks; A's GET_LOCK connection is still open.
    await b.ticks(10);
    expect(await lease(fx.conn, state, deploy.id)).toEqual(held);
    expect(b.lines.some((l) => l.startsWith(`lease ${id} `))).toBe(false);
    expect(await copiedRows(fx.conn, state)).toBe(copiedAtStall);

    const killedAt = (await service.events(deploy.id)).at(-1)!.id;
    await a.kill9();
    const complete = await waitForDeploy(service, deploy.id, 'complete');
    const after = await lease(fx.conn, state, deploy.id);
    expect(after.owner).toBe('runner-b');
    expect(after.token).toBeGreaterThan(held.token);

    const later = runnerEvents((await service.events(deploy.id)).filter((e) => e.id > killedAt));
    expect(new Set(later.map((e) => e.actor))).toEqual(new Set([b.actor]));
    expect(later.map((e) => e.kind)).toEqual(expect.arrayContaining(['resumed', 'cutover-started', 'complete']));
    expect(later.some((e) => e.kind === 'fresh-start' || e.kind === 'started')).toBe(false);
    // B continued the copy from A's checkpoint.
    expect(complete.migrations[0].rowsCopied).toBeLessThan(30_000 * 1.5);
    await expectTwinEqual(fx);
  });

  it('fencing: a stalled owner whose lock connection died is replaced, and writes nothing when it continues', async () => {
    const { fx, state, service, a, b, deploy, id } = await ownerCopyingWithRival('fenced');

    // A stalls: paused by command it copies nothing; a transaction it had open dies with its connection.
    await service.command(deploy.id, 'pause', 'bob');
    await until(async () => /paused by bob/.test((await service.get(deploy.id)).migrations[0].throttle ?? ''), 'the copy to pause');
    await fx.load.stop();
    const aSessions = await pauseAndCutTransactions(a, fx.conn);
    await fx.restartLoad();
    const held = await lease(fx.conn, state, deploy.id);
    expect(held.owner).toBe('runner-a');
    // The stalled owner's lock connection dies (as a network partition or the 30 s idle timeout would do it).
    const [[{ holder }]] = await fx.conn.query<RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS holder',
      [`schemabot:deploy:${state}:${fx.target.database}:${id}`.slice(0, 64)]);
    expect(aSessions).toContain(Number(holder));
    await fx.conn.query(`KILL ${Number(holder)}`);

    // B takes the lease (a new fencing token); A's engine still holds the table, so B cannot start it yet.
    await b.waitForLine(new RegExp(`^lease ${id} `));
    const taken = await lease(fx.conn, state, deploy.id);
    expect(taken.owner).toBe('runner-b');
    expect(taken.token).toBeGreaterThan(held.token);
    const [fences] = await fx.conn.query<RowDataPacket[]>(`SELECT DISTINCT fence FROM \`${state}\`.checkpoints`);
    expect(fences.map((f) => Number(f.fence)).every((f) => f > held.token)).toBe(true);

    // A continues: its next checkpoint or lease check fails, and it stops without a verdict.
    const continuedAt = { line: a.lines.length, event: (await service.events(deploy.id)).at(-1)!.id };
    a.resume();
    const ended = await Promise.race([
      a.waitForLine(new RegExp(`^run-ended ${id} `), continuedAt.line).then((r) => r.line),
      a.exited().then(() => `exited ${JSON.stringify(a.exit)}`),
    ]);
    // Killed right away, so that it cannot claim the deploy again legitimately a second later.
    await a.kill9();
    expect(ended).toBe(`run-ended ${id} interrupted`);
    const aAfter = a.lines.slice(continuedAt.line);
    // (A may still print a checkpoint UPDATE answered before it stalled: its transaction died with its connection.)
    const [after] = await fx.conn.query<RowDataPacket[]>(`SELECT DISTINCT fence FROM \`${state}\`.checkpoints`);
    expect(after.every((f) => Number(f.fence) >= taken.token), 'checkpoint rows A wrote after it continued').toBe(true);
    expect(aAfter.filter((l) => l.startsWith('lease '))).toEqual([]);
    console.log(`runner-a after it continued: ${aAfter.filter((l) => !l.startsWith('poll ')).join(' | ')}`);

    await service.command(deploy.id, 'resume', 'bob');
    const complete = await waitForDeploy(service, deploy.id, 'complete');
    const later = runnerEvents((await service.events(deploy.id)).filter((e) => e.id > continuedAt.event));
    expect(new Set(later.map((e) => e.actor))).toEqual(new Set([b.actor]));
    expect(later.map((e) => e.kind)).toEqual(expect.arrayContaining(['resumed', 'complete']));
    expect(later.some((e) => e.kind === 'fresh-start' || e.kind === 'failed')).toBe(false);
    expect((await lease(fx.conn, state, deploy.id)).owner).toBe('runner-b');
    expect(complete.migrations[0].rowsCopied).toBeLessThan(30_000 * 1.5);
    await expectTwinEqual(fx);
  });

  // A lost lock connection (network, idle timeout, KILL) is no verdict on the deploy: the runner stops and claims it again.
  it('an owner waiting at a gated cut-over that loses its lock connection stops without a verdict', async () => {
    const { fx, state, env, service } = await setup(3_000, 200);
    const a = startRunner('runner-a', env);
    await a.ticks(1);
    const { deploy } = await service.submit({ target: 'main', files: fx.files, clientKey: 'gate', cutover: 'gated', actor: 'alice' });
    const id = number(deploy.id);
    const lockName = `schemabot:deploy:${state}:${fx.target.database}:${id}`.slice(0, 64);
    for (let round = 1; round <= 4; round++) {
      await waitForDeploy(service, deploy.id, (d) => d.state === 'ready-to-cutover' && d.migrations[0].stage === 'ready-to-cutover');
      // Waiting at the gate, applying the binlog; the lock connection is lost (network, idle timeout, KILL).
      let holder = 0;
      await until(async () => {
        const [[row]] = await fx.conn.query<RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS holder', [lockName]);
        holder = Number(row.holder ?? 0);
        return holder > 0;
      }, 'runner A to hold the deploy lock');
      const from = a.lines.length;
      await fx.conn.query(`KILL ${holder}`);
      const { line } = await a.waitForLine(new RegExp(`^run-ended ${id} `), from);
      // Not a verdict on the deploy: it stays where it was and the runner claims it again.
      expect({ round, line, state: (await service.get(deploy.id)).state }).toEqual({ round, line: `run-ended ${id} interrupted`, state: 'ready-to-cutover' });
      await a.waitForLine(new RegExp(`^lease ${id} `), from);
    }
    await service.command(deploy.id, 'cutover', 'carol');
    await waitForDeploy(service, deploy.id, 'complete');
    await expectTwinEqual(fx);
  });
});
