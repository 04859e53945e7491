// A table that is reopened takes its persistent index statistics back. The shadow table's may date
// from when it was empty, so the migration refreshes them: the table goes live with statistics of
// its real size, and lookups of many keys use the key. A revert does the same for the kept original
// it replays into.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { runOnlineMigration } from '../../runner/engine/online-migration.ts';
import { DeployService } from '../../runner/queue/deploy-service.ts';
import { freshDatabase } from '../support/database.ts';
import { stopServiceAfterEach, waitForDeploy } from '../support/deploy-fixture.ts';

const services = stopServiceAfterEach();

async function storedRows(conn: Connection, database: string, table: string): Promise<number> {
  const [[stats]] = await conn.query<RowDataPacket[]>(
    'SELECT n_rows FROM mysql.innodb_table_stats WHERE database_name = ? AND table_name = ?', [database, table]);
  return Number(stats.n_rows);
}

describe('index statistics', () => {
  it('are those of the copied table when it goes live, even with automatic recalculation off', async () => {
    const { target, conn } = await freshDatabase('stats');
    // STATS_AUTO_RECALC=0 carries over to the shadow table (CREATE TABLE LIKE): nothing refreshes it in the
    // background. No secondary index either: building one refreshes the statistics too.
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT) STATS_AUTO_RECALC = 0');
    await conn.query('INSERT INTO t SELECT seq, seq FROM seq_1_to_30000');
    await conn.query('ANALYZE TABLE t');
    await runOnlineMigration({ target, table: 't', alter: 'ADD COLUMN w INT' });

    expect(await storedRows(conn, target.database, 't')).toBeGreaterThan(25_000);
    const keys = Array.from({ length: 1000 }, (_, i) => 1 + i * 29);
    const [plan] = await conn.query<RowDataPacket[]>(`EXPLAIN DELETE FROM t WHERE id IN (${keys.map(() => '?').join(', ')})`, keys);
    expect(plan[0]).toMatchObject({ type: 'range', key: 'PRIMARY' });
    await conn.end();
  });

  it('of the kept original are refreshed before a revert replays into it and swaps it back', async () => {
    const { target, conn } = await freshDatabase('stats_revert');
    const definition = 'CREATE TABLE t (id INT PRIMARY KEY, v INT) STATS_AUTO_RECALC=0';
    // Never analyzed: the stored statistics say 0 rows, and every rename reloads them.
    await conn.query(definition);
    await conn.query('INSERT INTO t SELECT seq, seq FROM seq_1_to_30000');
    const service = services.use(new DeployService({ targets: { main: target }, pollMs: 100, stateSchema: `_sb_${target.database}` }));
    const { deploy } = await service.submit({ target: 'main', files: { 't.sql': `${definition.replace('v INT', 'v BIGINT')};\n` },
      clientKey: 'stats', actor: 'alice' });
    service.startWorker();
    await waitForDeploy(service, deploy.id, 'complete');
    expect(await storedRows(conn, target.database, 't__old')).toBe(0);
    await conn.query('UPDATE t SET v = v + 1 WHERE id <= 2000');

    await service.command(deploy.id, 'revert', 'bob');
    await waitForDeploy(service, deploy.id, 'reverted');
    expect(await storedRows(conn, target.database, 't')).toBeGreaterThan(25_000);
    const [[changed]] = await conn.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM t WHERE v = id + 1');
    expect(Number(changed.n)).toBe(2000);
    await conn.end();
  });
});
