// The target server restarts in the middle of an online migration: a private MariaDB (the shared test
// server cannot be restarted) is stopped cleanly and started again on the same datadir and port while
// the runner copies under mirrored writes. The same runner process reconnects by itself, resumes from
// its checkpoints (no fresh start) and completes; the table ends equal to its twin.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../runner/db/connect.ts';
import { parseDsn } from '../../runner/db/dsn.ts';
import { startEmbeddedServer } from '../../runner/embedded/mariadb.ts';
import { readTableInfo } from '../../runner/db/table-info.ts';
import type { DeployView } from '../../runner/queue/deploy-model.ts';
import { DeployService } from '../../runner/queue/deploy-service.ts';
import { NATIVE_ALTER, printDeploys, TABLE_SQL, WIDENED } from '../support/deploy-fixture.ts';
import { seedTable } from '../support/migration-case.ts';
import { RunnerProcess, until } from '../support/runner-process.ts';
import { RestartableServer } from '../support/server-restart.ts';
import { TolerantLoad } from '../support/tolerant-load.ts';
import { definitionOf, tableRows, twinWorkload } from '../support/twin-workload.ts';

const STATE = '_sb_restart';
const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async (context) => {
  const failed = context.task.result?.state === 'fail';
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup().catch((err) => { if (failed) console.log(`cleanup: ${String(err)}`); });
  }
});

/** A connection that survives the server going away: its loss is reported to the next query, not as a crash. */
async function sturdyConnection(dsn: string): Promise<Connection> {
  const conn = await connect(parseDsn(dsn));
  conn.on('error', () => undefined);
  return conn;
}

/** Waits for the deploy to reach `state`, ignoring the errors of a server that is still coming back. */
async function waitThroughOutage(service: DeployService, id: string, state: string, timeoutMs = 60_000): Promise<DeployView> {
  let last: DeployView | undefined;
  await until(async () => {
    try {
      last = await service.get(id);
    } catch {
      return false;
    }
    if (['failed', 'aborted'].includes(last.state)) throw new Error(`deploy ${id} ${last.state}: ${last.error}`);
    return last.state === state;
  }, `deploy ${id} to be ${state}`, timeoutMs);
  return last!;
}

describe('server restart', () => {
  it('mid-copy: the same runner reconnects, resumes from its checkpoints and completes', async () => {
    const server = new RestartableServer(await startEmbeddedServer({ bufferPool: '128M' }));
    cleanups.push(() => server.stop());
    const admin = await sturdyConnection(server.server.dsn('mysql'));
    await admin.query('CREATE DATABASE app');
    await admin.end();
    const dsn = server.server.dsn('app');
    const target = parseDsn(dsn);
    let conn = await sturdyConnection(dsn);
    cleanups.push(() => conn.end());
    await conn.query(TABLE_SQL('t'));
    await conn.query(TABLE_SQL('t_twin'));
    const info = await readTableInfo(conn, 'app', 't');
    await seedTable(conn, info, 20_000, undefined);
    await conn.query('INSERT INTO t_twin SELECT * FROM t');

    const load = new TolerantLoad(target, 2, twinWorkload({ table: info, twin: 't_twin', keyColumns: ['id'], keyChanges: true, seed: 7 }));
    load.start();
    cleanups.push(() => load.stop());
    const service = new DeployService({ targets: { main: target }, stateSchema: STATE });
    cleanups.push(() => service.stop());
    const runner = new RunnerProcess('runner-r', { SCHEMABOT_TEST_DSN: dsn, SCHEMABOT_TEST_STATE: STATE, SCHEMABOT_TEST_CHUNK: '20' });
    cleanups.push(() => runner.kill9());

    try {
      await runner.ticks(1);
      const { deploy } = await service.submit({
        target: 'main', files: { 't.sql': `${WIDENED('t')};\n`, 't_twin.sql': `${TABLE_SQL('t_twin')};\n` },
        clientKey: 'restart', cutover: 'auto', actor: 'alice',
      });
      const id = Number(deploy.id.split('.')[1]);
      const copied = async () => {
        const [rows] = await conn.query<RowDataPacket[]>(`SELECT rows_copied, done FROM \`${STATE}\`.checkpoints WHERE stream = 'copy'`);
        return rows.length ? { rows: Number(rows[0].rows_copied), done: Number(rows[0].done) === 1 } : { rows: 0, done: false };
      };
      await until(async () => (await copied()).rows >= 2_000, 'the runner to copy 2000 rows');

      // Down: the runner's run ends without a verdict while the server is away.
      const before = runner.lines.length;
      const opsBefore = load.stats.errors;
      const argv = await server.shutdown();
      const ended = await Promise.race([
        runner.waitForLine(new RegExp(`^run-ended ${id} `), before).then((r) => r.line),
        runner.exited().then(() => `exited ${JSON.stringify(runner.exit)}`),
      ]);
      expect(ended).toBe(`run-ended ${id} interrupted`);

      // Up again, same datadir and port.
      await server.start(argv);
      conn = await sturdyConnection(dsn);
      const atRestart = await copied();
      expect(atRestart.done).toBe(false);
      const complete = await waitThroughOutage(service, deploy.id, 'complete');
      expect(runner.alive).toBe(true);
      expect(load.stats.errors).toBeGreaterThan(opsBefore);

      const events = await service.events(deploy.id);
      const byRunner = events.filter((e) => e.actor.startsWith('runner:'));
      expect(new Set(byRunner.map((e) => e.actor))).toEqual(new Set([runner.actor]));
      expect(byRunner.map((e) => e.kind)).toEqual(expect.arrayContaining(['started', 'resumed', 'complete']));
      expect(byRunner.some((e) => e.kind === 'fresh-start' || e.kind === 'failed')).toBe(false);
      // The copy went on from the checkpoint: far less than two full copies.
      expect(complete.migrations[0].rowsCopied).toBeLessThan(20_000 * 1.5);

      await load.stop();
      await conn.query(`ALTER TABLE t_twin ${NATIVE_ALTER}`);
      expect(await definitionOf(conn, 't')).toBe(await definitionOf(conn, 't_twin'));
      const [rows, twin] = [await tableRows(conn, 't', ['id']), await tableRows(conn, 't_twin', ['id'])];
      expect(rows.length).toBeGreaterThan(0);
      expect(rows).toEqual(twin);
    } catch (err) {
      await printDeploys(service).catch(() => undefined);
      console.log(`runner-r (${runner.alive ? 'alive' : JSON.stringify(runner.exit)}):\n`
        + runner.lines.filter((l) => !/^(poll|checkpoint) /.test(l)).join('\n'));
      throw err;
    }
  });
});
