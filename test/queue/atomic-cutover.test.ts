// Several online migrations in one deploy cut over in one atomic RENAME, under mirrored writes on
// both tables; and a connection holding a lock on a helper table that sorts before T (a backup
// reading `t__gho`) delays the cut-over instead of letting writes land in the old table.
// Seeing metadata locks needs MariaDB's metadata_lock_info plugin, installed here for these tests.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../runner/db/connect.ts';
import { parseDsn } from '../../runner/db/dsn.ts';
import { WriteLoad } from '../../runner/embedded/write-load.ts';
import { readTableInfo } from '../../runner/db/table-info.ts';
import { DeployService } from '../../runner/queue/deploy-service.ts';
import { freshDatabase, serverDsn } from '../support/database.ts';
import { NATIVE_ALTER, printDeploys, TABLE_SQL, waitForDeploy, WIDENED } from '../support/deploy-fixture.ts';
import { seedTable } from '../support/migration-case.ts';
import { definitionOf, tableRows, twinWorkload } from '../support/twin-workload.ts';

let admin: Connection;
beforeAll(async () => {
  admin = await connect(parseDsn(serverDsn('mysql')));
  await admin.query("INSTALL SONAME 'metadata_lock_info'");
});
afterAll(async () => {
  await admin.query("UNINSTALL SONAME 'metadata_lock_info'");
  await admin.end();
});

/** Tables `names`, each with a twin under mirrored writes. */
async function twins(names: string[]) {
  const { target, conn } = await freshDatabase('atomic');
  const loads: WriteLoad[] = [];
  for (const name of names) {
    await conn.query(TABLE_SQL(name));
    await conn.query(TABLE_SQL(`${name}_twin`));
    const info = await readTableInfo(conn, target.database, name);
    await seedTable(conn, info, 3000, undefined);
    await conn.query(`INSERT INTO \`${name}_twin\` SELECT * FROM \`${name}\``);
    loads.push(new WriteLoad(target, 2, twinWorkload({ table: info, twin: `${name}_twin`, keyColumns: ['id'], keyChanges: true, seed: 9 }), 1));
  }
  for (const load of loads) await load.start();
  const files = Object.fromEntries(names.flatMap((n) => [[`${n}.sql`, `${WIDENED(n)};`], [`${n}_twin.sql`, `${TABLE_SQL(`${n}_twin`)};`]]));
  return { target, conn, loads, files };
}

describe('atomic cut-over', () => {
  it('swaps several tables in one RENAME and loses no write on any of them', async () => {
    // `a_A` sorts between `a` and `a__old`: the holders must hand over in the server's lock order.
    const fx = await twins(['a', 'a_A', 'b']);
    const service = new DeployService({ targets: { main: fx.target }, pollMs: 100, stateSchema: `_sb_${fx.target.database}` });
    try {
      const { deploy } = await service.submit({ target: 'main', files: fx.files, clientKey: 'atomic', cutover: 'gated', actor: 'alice' });
      expect(deploy.migrations.filter((m) => m.method === 'online').map((m) => m.table).sort()).toEqual(['a', 'a_A', 'b']);
      service.startWorker();
      await waitForDeploy(service, deploy.id, 'ready-to-cutover');
      await service.command(deploy.id, 'cutover', 'carol');
      await waitForDeploy(service, deploy.id, 'complete');
      for (const load of fx.loads) await load.stop();
      for (const name of ['a', 'a_A', 'b']) {
        await fx.conn.query(`ALTER TABLE \`${name}_twin\` ${NATIVE_ALTER}`);
        expect(await definitionOf(fx.conn, name)).toBe(await definitionOf(fx.conn, `${name}_twin`));
        expect(await tableRows(fx.conn, name, ['id'])).toEqual(await tableRows(fx.conn, `${name}_twin`, ['id']));
      }
      const events = await service.events(deploy.id);
      expect(events.filter((e) => /in one RENAME/.test(e.message))).toHaveLength(1);
    } catch (err) {
      await printDeploys(service);
      throw err;
    } finally {
      for (const load of fx.loads) await load.stop();
      await service.stop();
      await fx.conn.end();
    }
  });

  it('waits while another connection holds the shadow table, and never strands a write in the old table', async () => {
    const fx = await twins(['t']);
    const service = new DeployService({
      targets: { main: fx.target }, pollMs: 100, stateSchema: `_sb_${fx.target.database}`, migration: { cutOverAttempts: 20 },
    });
    const reader = await connect(fx.target);
    try {
      const { deploy } = await service.submit({ target: 'main', files: fx.files, clientKey: 'reader', cutover: 'gated', actor: 'alice' });
      service.startWorker();
      await waitForDeploy(service, deploy.id, 'ready-to-cutover');
      // Like `mariadb-dump --single-transaction`: a transaction that has read the shadow table keeps a lock on it.
      await reader.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
      await reader.query('SELECT COUNT(*) FROM t__gho');
      await service.command(deploy.id, 'cutover', 'carol');
      await waitForDeploy(service, deploy.id, (d) => d.migrations[0].stage === 'cutting-over');
      // Released while the RENAME still waits for it: the RENAME then goes on, and T must be its own.
      await new Promise((r) => setTimeout(r, 1_500));
      expect((await service.get(deploy.id)).state).toBe('cutting-over');
      await reader.query('COMMIT');
      await waitForDeploy(service, deploy.id, 'complete');
      for (const load of fx.loads) await load.stop();
      await fx.conn.query(`ALTER TABLE t_twin ${NATIVE_ALTER}`);
      expect(await tableRows(fx.conn, 't', ['id'])).toEqual(await tableRows(fx.conn, 't_twin', ['id']));
      const [[stranded]] = await fx.conn.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM t__old');
      expect(Number(stranded.n)).toBeGreaterThan(0);
    } catch (err) {
      await printDeploys(service);
      throw err;
    } finally {
      await reader.end();
      for (const load of fx.loads) await load.stop();
      await service.stop();
      await fx.conn.end();
    }
  });

  it('names the connection that blocks the cut-over, and kills it only when told to', async () => {
    const fx = await twins(['t']);
    const service = new DeployService({
      targets: { main: fx.target }, pollMs: 100, stateSchema: `_sb_${fx.target.database}`,
      migration: { cutOverAttempts: 50, lockWaitSeconds: 1, killBlockers: true },
    });
    const idle = await connect(fx.target);
    try {
      const { deploy } = await service.submit({ target: 'main', files: fx.files, clientKey: 'blocker', cutover: 'gated', actor: 'alice' });
      service.startWorker();
      await waitForDeploy(service, deploy.id, 'ready-to-cutover');
      // An application connection that read T and left its transaction open: it holds T's metadata lock.
      const [[{ id }]] = await idle.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
      await idle.query('BEGIN');
      await idle.query('SELECT COUNT(*) FROM t');
      await service.command(deploy.id, 'cutover', 'carol');
      await waitForDeploy(service, deploy.id, 'complete');
      const events = (await service.events(deploy.id)).map((e) => e.message);
      expect(events.some((m) => m.includes(`waited too long for a lock held by connection ${id} (root`) && m.includes('holds `t`'))).toBe(true);
      expect(events.some((m) => m.startsWith(`killed connection ${id} `))).toBe(true);
      await expect(idle.query('SELECT 1')).rejects.toThrow();
      for (const load of fx.loads) await load.stop();
      await fx.conn.query(`ALTER TABLE t_twin ${NATIVE_ALTER}`);
      expect(await tableRows(fx.conn, 't', ['id'])).toEqual(await tableRows(fx.conn, 't_twin', ['id']));
    } catch (err) {
      await printDeploys(service);
      throw err;
    } finally {
      idle.destroy();
      for (const load of fx.loads) await load.stop();
      await service.stop();
      await fx.conn.end();
    }
  });
});
