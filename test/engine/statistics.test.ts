// A table that is reopened takes its persistent index statistics back. The shadow table's may date
// from when it was empty, so the migration refreshes them: the table goes live with statistics of
// its real size, and lookups of many keys use the key.
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { runOnlineMigration } from '../../runner/engine/online-migration.ts';
import { freshDatabase } from '../support/database.ts';

describe('index statistics', () => {
  it('are those of the copied table when it goes live, even with automatic recalculation off', async () => {
    const { target, conn } = await freshDatabase('stats');
    // STATS_AUTO_RECALC=0 carries over to the shadow table (CREATE TABLE LIKE): nothing refreshes it in the
    // background. No secondary index either: building one refreshes the statistics too.
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT) STATS_AUTO_RECALC = 0');
    await conn.query('INSERT INTO t SELECT seq, seq FROM seq_1_to_30000');
    await conn.query('ANALYZE TABLE t');
    await runOnlineMigration({ target, table: 't', alter: 'ADD COLUMN w INT' });

    const [[stats]] = await conn.query<RowDataPacket[]>(
      "SELECT n_rows FROM mysql.innodb_table_stats WHERE database_name = ? AND table_name = 't'", [target.database]);
    expect(Number(stats.n_rows)).toBeGreaterThan(25_000);
    const keys = Array.from({ length: 1000 }, (_, i) => 1 + i * 29);
    const [plan] = await conn.query<RowDataPacket[]>(`EXPLAIN DELETE FROM t WHERE id IN (${keys.map(() => '?').join(', ')})`, keys);
    expect(plan[0]).toMatchObject({ type: 'range', key: 'PRIMARY' });
    await conn.end();
  });
});
