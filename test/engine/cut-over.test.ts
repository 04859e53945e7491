// Cut-over under a live write load: no write lost or altered across the swap, ids never reused, the
// original kept as T__old, and a postponed cut-over keeps applying the binlog until released.
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { WriteLoad } from '../../runner/embedded/write-load.ts';
import { runOnlineMigration } from '../../runner/engine/online-migration.ts';
import { readTableInfo } from '../../runner/db/table-info.ts';
import { freshDatabase } from '../support/database.ts';
import { postponedMigration } from '../support/manual-gate.ts';
import { seedTable } from '../support/migration-case.ts';
import { definitionOf, tableRows, twinWorkload } from '../support/twin-workload.ts';

const CREATE = (name: string) => `CREATE TABLE \`${name}\` (id INT NOT NULL PRIMARY KEY, email VARCHAR(60) NULL, n BIGINT NULL,
  at DATETIME(6) NULL, note TEXT NULL)`;

describe('cut-over', () => {
  // Mixed case and digits: the helpers must sort after the table in the server's lock order whatever
  // the name looks like.
  for (const table of ['t', 'Orders', '2fa']) {
    it(`loses no write made before, during or after the swap (table \`${table}\`)`, async () => {
      const { target, conn } = await freshDatabase('cutover');
      const twin = `${table}_twin`;
      await conn.query(CREATE(table));
      await conn.query(CREATE(twin));
      const info = await readTableInfo(conn, target.database, table);
      await seedTable(conn, info, 3000, undefined);
      await conn.query(`INSERT INTO \`${twin}\` SELECT * FROM \`${table}\``);
      // The writes only touch columns that exist before and after, so they keep going through the swap.
      const load = new WriteLoad(target, 4, twinWorkload({ table: info, twin, keyColumns: ['id'], keyChanges: true, seed: 5 }));
      await load.start();
      const alter = 'ADD COLUMN extra INT NOT NULL DEFAULT 42, ADD INDEX idx_n (n)';
      const result = await runOnlineMigration({ target, table, alter, chunkSize: 100 });
      await new Promise((r) => setTimeout(r, 300));
      const stats = await load.stop();
      expect(stats.operations).toBeGreaterThan(100);
      expect(result.verifiedRows).toBeGreaterThan(0);

      await conn.query(`ALTER TABLE \`${twin}\` ${alter}`);
      expect(await definitionOf(conn, table)).toBe(await definitionOf(conn, twin));
      expect(await tableRows(conn, table, ['id'])).toEqual(await tableRows(conn, twin, ['id']));
      const [[kept]] = await conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${table}__old\``);
      expect(Number(kept.n)).toBeGreaterThan(0);
      await conn.end();
    });
  }

  it('preserves AUTO_INCREMENT so that no id is reused', async () => {
    const { target, conn } = await freshDatabase('cutover');
    await conn.query('CREATE TABLE t (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, v INT)');
    await conn.query('INSERT INTO t (v) SELECT seq FROM seq_1_to_500');
    await conn.query('DELETE FROM t WHERE id > 400');
    const [[{ AUTO_INCREMENT: counter }]] = await conn.query<RowDataPacket[]>(
      "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't'");
    expect(Number(counter)).toBeGreaterThan(500);
    await runOnlineMigration({ target, table: 't', alter: 'ADD COLUMN w INT NULL' });
    await conn.query('INSERT INTO t (v) VALUES (1)');
    const [[row]] = await conn.query<RowDataPacket[]>('SELECT MAX(id) AS id FROM t');
    expect(Number(row.id)).toBe(Number(counter));
    await conn.end();
  });

  it('postpones cut-over until released, applying writes meanwhile', async () => {
    const { target, conn } = await freshDatabase('cutover');
    await conn.query('CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v INT)');
    await conn.query('INSERT INTO t SELECT seq, seq FROM seq_1_to_1000');
    const { migration, release } = await postponedMigration({ target, table: 't', alter: 'MODIFY v BIGINT' });
    await conn.query('UPDATE t SET v = -v WHERE id <= 10');
    await conn.query('INSERT INTO t VALUES (5000, 5000)');
    await new Promise((r) => setTimeout(r, 300));
    // Still the original definition: nothing is cut over while postponed.
    const [[before]] = await conn.query<RowDataPacket[]>(
      "SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't' AND COLUMN_NAME = 'v'");
    expect(before.DATA_TYPE).toBe('int');
    release();
    const result = await migration;
    expect(result.binlogRowsApplied).toBeGreaterThanOrEqual(11);
    const [[after]] = await conn.query<RowDataPacket[]>('SELECT SUM(v) AS s, COUNT(*) AS n FROM t');
    expect(Number(after.n)).toBe(1001);
    expect(Number(after.s)).toBe(500500 - 2 * 55 + 5000);
    await conn.end();
  });

  it('never loses a row to a unique-key conflict that arrives after verification', async () => {
    const { target, conn } = await freshDatabase('cutover');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(50) NOT NULL)');
    await conn.query("INSERT INTO t SELECT seq, CONCAT('u', seq) FROM seq_1_to_2000");
    const writer = await (await import('../../runner/db/connect.ts')).connect(target);
    let update: Promise<unknown> | undefined;
    const outcome = await runOnlineMigration({
      target, table: 't', alter: 'ADD UNIQUE KEY uk_email (email)',
      progress: {
        update() {},
        stop() {},
        // Right after verification, make two rows collide on the new unique key.
        log: (line) => { if (line.startsWith('verified:') && !update) update = writer.query("UPDATE t SET email = 'u1' WHERE id = 2").catch((e) => e); },
      },
    }).then(() => 'migrated', (e: Error) => e.message);
    const updateResult = await update;
    const [[{ n }]] = await conn.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM t');
    expect(Number(n)).toBe(2000);
    if (outcome === 'migrated') {
      // The write reached the new table and was refused there.
      expect(String(updateResult)).toMatch(/Duplicate entry 'u1'/);
    } else {
      expect(outcome).toMatch(/verification failed|unique key/);
      const [[{ dups }]] = await conn.query<RowDataPacket[]>("SELECT COUNT(*) AS dups FROM t WHERE email = 'u1'");
      expect(Number(dups)).toBe(2);
    }
    await writer.end();
    await conn.end();
  });

  it('a backup holding the shadow table only delays the swap: no write lands in the old table', async () => {
    const { target, conn } = await freshDatabase('cutover');
    await conn.query(CREATE('t'));
    await conn.query(CREATE('t_twin'));
    const info = await readTableInfo(conn, target.database, 't');
    await seedTable(conn, info, 3000, undefined);
    await conn.query('INSERT INTO t_twin SELECT * FROM t');
    const load = new WriteLoad(target, 4, twinWorkload({ table: info, twin: 't_twin', keyColumns: ['id'], keyChanges: true, seed: 8 }));
    await load.start();
    const backup = await (await import('../../runner/db/connect.ts')).connect(target);
    const alter = 'ADD COLUMN extra INT NOT NULL DEFAULT 42';
    const { migration, release } = await postponedMigration({ target, table: 't', alter, lockWaitSeconds: 2 });
    // Like `mariadb-dump --single-transaction` reaching the shadow table just before the swap.
    await backup.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
    await backup.query('SELECT COUNT(*) FROM t__gho');
    release();
    await new Promise((r) => setTimeout(r, 1_500));
    await backup.query('COMMIT');
    const result = await migration;
    await load.stop();
    expect(result.cutOverStallMs).toBeGreaterThan(0);
    await conn.query(`ALTER TABLE t_twin ${alter}`);
    expect(await tableRows(conn, 't', ['id'])).toEqual(await tableRows(conn, 't_twin', ['id']));
    await backup.end();
    await conn.end();
  });

  it('a postponed cut-over outlives a short server wait_timeout', async () => {
    const { target, conn } = await freshDatabase('cutover');
    await conn.query('CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v INT)');
    await conn.query('INSERT INTO t SELECT seq, seq FROM seq_1_to_1000');
    const [[{ old }]] = await conn.query<RowDataPacket[]>('SELECT @@global.wait_timeout AS old');
    await conn.query('SET GLOBAL wait_timeout = 2');
    try {
      const { migration, release } = await postponedMigration({ target, table: 't', alter: 'MODIFY v BIGINT' });
      await new Promise((r) => setTimeout(r, 4_000));
      await conn.query('UPDATE t SET v = 0 WHERE id = 1');
      release();
      await migration;
    } finally {
      await conn.query('SET GLOBAL wait_timeout = ?', [Number(old)]);
    }
    const [[row]] = await conn.query<RowDataPacket[]>('SELECT v FROM t WHERE id = 1');
    expect(Number(row.v)).toBe(0);
    await conn.end();
  });
});
