// Every refusal or failure must leave the original table exactly as it was (definition and rows) and
// no helper tables behind, with a message that says what and why.
import { createHash } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { WriteLoad } from '../../runner/embedded/write-load.ts';
import { MigrationFailed, MigrationRefused } from '../../runner/engine/errors.ts';
import { runOnlineMigration, type MigrationOptions } from '../../runner/engine/online-migration.ts';
import { freshDatabase } from '../support/database.ts';
import { postponedMigration } from '../support/manual-gate.ts';
import { definitionOf, tableRows } from '../support/twin-workload.ts';

async function fingerprint(conn: Connection, table: string) {
  const [tables] = await conn.query<RowDataPacket[]>('SHOW TABLES');
  return {
    tables: tables.map((r) => String(Object.values(r)[0])).sort(),
    definition: await definitionOf(conn, table),
    rows: await tableRows(conn, table, ['id']),
  };
}

const seed = (n: number, expr: string) => `INSERT INTO t SELECT seq, ${expr} FROM seq_1_to_${n}`;

describe('refusals leave the table untouched', () => {
  it('refuses a table without a usable key', async () => {
    const { target, conn } = await freshDatabase('refusal');
    await conn.query('CREATE TABLE t (id INT NULL, v INT)');
    await conn.query(seed(100, 'seq'));
    const before = await fingerprint(conn, 't');
    await expect(runOnlineMigration({ target, table: 't', alter: 'ADD COLUMN c INT' })).rejects.toThrow(/no shared key/);
    expect(await fingerprint(conn, 't')).toEqual(before);
    await conn.end();
  });

  const refusals: Array<{ name: string; setup: string[]; alter: string; options?: Partial<MigrationOptions>; message: RegExp;
    error?: typeof MigrationRefused | typeof MigrationFailed }> = [
    {
      name: 'triggers',
      setup: ['CREATE TABLE t (id INT PRIMARY KEY, v INT)', 'CREATE TRIGGER trg_t BEFORE INSERT ON t FOR EACH ROW SET NEW.v = 1'],
      alter: 'ADD COLUMN c INT', message: /triggers \(trg_t\)/,
    },
    {
      name: 'foreign keys',
      setup: ['CREATE TABLE parent (id INT PRIMARY KEY)',
        'CREATE TABLE t (id INT PRIMARY KEY, p INT, CONSTRAINT fk_parent FOREIGN KEY (p) REFERENCES parent (id))'],
      alter: 'ADD COLUMN c INT', message: /foreign keys \(fk_parent/,
    },
    {
      name: 'an ALTER that does not apply',
      setup: ['CREATE TABLE t (id INT PRIMARY KEY, v INT)'], alter: 'ADD COLUMN v INT', message: /ALTER does not apply: Duplicate column/,
    },
    {
      name: 'dropping a column without --allow-drop-column',
      setup: ['CREATE TABLE t (id INT PRIMARY KEY, v INT)', seed(50, 'seq')], alter: 'DROP COLUMN v', message: /drops column\(s\) `v`/,
    },
    {
      name: 'a new NOT NULL column without a default',
      setup: ['CREATE TABLE t (id INT PRIMARY KEY, v INT)'], alter: 'ADD COLUMN c INT NOT NULL', message: /NOT NULL without a DEFAULT/,
    },
    {
      name: 'a view',
      setup: ['CREATE TABLE base (id INT PRIMARY KEY, v INT)', 'CREATE VIEW t AS SELECT id, v FROM base'],
      alter: 'ADD COLUMN c INT', message: /`t` is a view, not a table/,
    },
    {
      name: 'a table that is not InnoDB',
      setup: ['CREATE TABLE t (id INT PRIMARY KEY, v INT, KEY idx_v (v)) ENGINE=MyISAM', seed(50, 'seq')],
      alter: 'ADD COLUMN c INT', message: /`t` uses MyISAM, not InnoDB/,
    },
    {
      name: 'a table rename',
      setup: ['CREATE TABLE t (id INT PRIMARY KEY, v INT)'], alter: 'RENAME TO t2', message: /renaming the table/,
    },
    {
      name: 'a kept T__old from an earlier migration',
      setup: ['CREATE TABLE t (id INT PRIMARY KEY, v INT)', 'CREATE TABLE t__old (id INT PRIMARY KEY)'],
      alter: 'ADD COLUMN c INT', message: /`t__old` exists/,
    },
    {
      name: 'narrowing that would truncate values',
      setup: ['CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(50))', seed(300, "REPEAT('x', seq % 20)")],
      alter: 'MODIFY v VARCHAR(5)', message: /does not fit the new definition: Data too long for column 'v'/, error: MigrationFailed,
    },
    {
      name: 'rounding that would change decimals',
      setup: ['CREATE TABLE t (id INT PRIMARY KEY, v DECIMAL(10,4))', seed(300, 'seq / 7')],
      alter: 'MODIFY v DECIMAL(10,2)', message: /verification failed: .* different contents/, error: MigrationFailed,
    },
    {
      name: 'a new unique key over existing duplicates',
      setup: ['CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(50))', seed(300, "CONCAT('u', seq % 290, '@x')")],
      alter: 'ADD UNIQUE KEY uk_email (email)', message: /violate unique key `uk_email` of the new definition: Duplicate entry 'u\d+@x'$/,
      error: MigrationFailed,
    },
  ];

  for (const r of refusals) {
    it(`refuses ${r.name}`, async () => {
      const { target, conn } = await freshDatabase('refusal');
      for (const sql of r.setup) await conn.query(sql);
      const before = await fingerprint(conn, 't');
      const err = await runOnlineMigration({ target, table: 't', alter: r.alter, chunkSize: 20, ...r.options })
        .then(() => undefined, (e: Error) => e);
      expect(err).toBeInstanceOf(r.error ?? MigrationRefused);
      expect(err?.message).toMatch(r.message);
      expect(await fingerprint(conn, 't')).toEqual(before);
      await conn.end();
    });
  }

  it('fails before cut-over when duplicates for a new unique key arrive during the copy', async () => {
    const { target, conn } = await freshDatabase('refusal');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(50))');
    await conn.query(seed(3000, "CONCAT('u', seq, '@x')"));
    let n = 0;
    // Each write inserts a copy of an existing (already copied or not) email under a new id.
    const load = new WriteLoad(target, 2, async (c) => {
      n++;
      await c.query("INSERT INTO t (id, email) VALUES (?, CONCAT('u', ?, '@x'))", [100_000 + n, 1 + (n * 37) % 3000]);
    }, 1);
    await load.start();
    const err = await runOnlineMigration({ target, table: 't', alter: 'ADD UNIQUE KEY uk_email (email)', chunkSize: 50 })
      .then(() => undefined, (e: Error) => e);
    await load.stop();
    expect(err).toBeInstanceOf(MigrationFailed);
    expect(err?.message).toMatch(/unique key|Duplicate entry/);
    const [tables] = await conn.query<RowDataPacket[]>("SHOW TABLES LIKE '\\_t\\_%'");
    expect(tables).toEqual([]);
    const [[{ n: rows }]] = await conn.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM t');
    expect(Number(rows)).toBe(3000 + load.stats.operations);
    await conn.end();
  });

  it('refuses a server without binlog_row_metadata=FULL', async () => {
    const { target, conn } = await freshDatabase('refusal');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    await conn.query('SET GLOBAL binlog_row_metadata = MINIMAL');
    try {
      await expect(runOnlineMigration({ target, table: 't', alter: 'ADD COLUMN c INT' }))
        .rejects.toThrow(/binlog_row_metadata is MINIMAL, must be FULL/);
    } finally {
      await conn.query('SET GLOBAL binlog_row_metadata = FULL');
      await conn.end();
    }
  });

  it('fails when someone else alters the table during the migration', async () => {
    const { target, conn } = await freshDatabase('refusal');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    await conn.query(seed(500, 'seq'));
    const { migration: run } = await postponedMigration({ target, table: 't', alter: 'MODIFY v BIGINT' });
    const migration = run.then(() => undefined, (e: Error) => e);
    await conn.query('ALTER TABLE t ADD COLUMN sneaky INT');
    const err = await migration;
    expect(err).toBeInstanceOf(MigrationFailed);
    expect(err?.message).toMatch(/`t` was changed by DDL during the migration: ALTER TABLE t ADD COLUMN sneaky INT/);
    const [tables] = await conn.query<RowDataPacket[]>('SHOW TABLES');
    expect(tables.map((r) => Object.values(r)[0])).toEqual(['t']);
    await conn.end();
  });

  it('fails before the swap when a trigger was created on the table during the migration', async () => {
    const { target, conn } = await freshDatabase('refusal');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    await conn.query(seed(500, 'seq'));
    const before = await fingerprint(conn, 't');
    const { migration: run, release } = await postponedMigration({ target, table: 't', alter: 'MODIFY v BIGINT' });
    const migration = run.then(() => undefined, (e: Error) => e);
    await conn.query('CREATE TRIGGER trg_late BEFORE INSERT ON t FOR EACH ROW SET NEW.v = NEW.v + 1');
    release();
    const err = await migration;
    expect(err).toBeInstanceOf(MigrationFailed);
    expect(err?.message).toMatch(/`t` got triggers during the migration \(trg_late\)/);
    expect(await fingerprint(conn, 't')).toEqual(before);
    const [[{ n }]] = await conn.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = ?', ['t']);
    expect(Number(n)).toBe(1);
    await conn.end();
  });

  it('refuses a second migration of the same table without touching the first one', async () => {
    const { target, conn } = await freshDatabase('refusal');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    await conn.query(seed(500, 'seq'));
    const { migration: first, release } = await postponedMigration({ target, table: 't', alter: 'MODIFY v BIGINT' });
    await expect(runOnlineMigration({ target, table: 't', alter: 'ADD COLUMN w INT' })).rejects.toThrow(/another migration is running on `t`/);
    release();
    await first;
    const [[col]] = await conn.query<RowDataPacket[]>("SHOW COLUMNS FROM t LIKE 'v'");
    expect(col.Type).toBe('bigint(20)');
    await conn.end();
  });

  it('a run that loses its lock stops and touches nothing; a second run refuses while the first is alive', async () => {
    const { target, conn } = await freshDatabase('refusal');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    await conn.query(seed(500, 'seq'));
    const { migration: run } = await postponedMigration({ target, table: 't', alter: 'MODIFY v BIGINT' });
    const first = run.then(() => undefined, (e: Error) => e);
    // The connection holding the first run's lock dies (a DBA's KILL, a proxy timeout).
    const lock = `schemabot:${createHash('sha1').update(`${target.database}.t`).digest('hex')}`;
    const [[{ holder }]] = await conn.query<RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS holder', [lock]);
    await conn.query(`KILL ${Number(holder)}`);
    // KILL returns before the killed session has let its lock go.
    for (let i = 0; i < 200 && !(await conn.query<RowDataPacket[]>('SELECT IS_FREE_LOCK(?) AS free', [lock]))[0][0].free; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    // A second run gets the lock, but sees the first one alive and refuses rather than drop its tables.
    const second = await runOnlineMigration({ target, table: 't', alter: 'ADD COLUMN w INT' }).then(() => undefined, (e: Error) => e);
    expect(second).toBeInstanceOf(MigrationRefused);
    expect(second?.message).toMatch(/another migration of `t` is alive/);
    const err = await first;
    expect(err?.message).toMatch(/lost the lock on `t`/);
    const [tables] = await conn.query<RowDataPacket[]>('SHOW TABLES');
    // Nobody may drop what it cannot prove is its own: the helpers stay for whoever cleans up.
    expect(tables.map((r) => String(Object.values(r)[0])).sort()).toEqual(['t', 't__ghc', 't__gho']);
    const [[col]] = await conn.query<RowDataPacket[]>("SHOW COLUMNS FROM t LIKE 'v'");
    expect(col.Type).toBe('int(11)');
    await conn.end();
  });

  it('refuses, before any work, an account that cannot read the binlog', async () => {
    const { target, conn } = await freshDatabase('refusal');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    const user = `nobinlog_${process.pid}`;
    await conn.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'pw'`);
    await conn.query(`GRANT ALL ON \`${target.database}\`.* TO '${user}'@'%'`);
    try {
      const err = await runOnlineMigration({ target: { ...target, user, password: 'pw' }, table: 't', alter: 'ADD COLUMN c INT' })
        .then(() => undefined, (e: Error) => e);
      expect(err).toBeInstanceOf(MigrationRefused);
      expect(err?.message).toMatch(/cannot read the binlog: GRANT REPLICATION CLIENT, REPLICATION SLAVE/);
      const [tables] = await conn.query<RowDataPacket[]>('SHOW TABLES');
      expect(tables.map((r) => String(Object.values(r)[0]))).toEqual(['t']);
    } finally {
      await conn.query(`DROP USER '${user}'@'%'`);
      await conn.end();
    }
  });

  it('fails, naming the cause, when a session writes the table with binlog_format=STATEMENT', async () => {
    const { target, conn } = await freshDatabase('refusal');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    await conn.query(seed(200, 'seq'));
    const before = await fingerprint(conn, 't');
    const { migration: run, release } = await postponedMigration({ target, table: 't', alter: 'MODIFY v BIGINT' });
    const migration = run.then(() => undefined, (e: Error) => e);
    await conn.query("SET SESSION binlog_format = 'STATEMENT'");
    await conn.query('UPDATE t SET v = v + 1 WHERE id = 3');
    await conn.query("SET SESSION binlog_format = 'ROW'");
    const err = await migration;
    release();
    expect(err).toBeInstanceOf(MigrationFailed);
    expect(err?.message).toMatch(/a write to `t` was logged as a statement, not as rows/);
    expect((await fingerprint(conn, 't')).tables).toEqual(before.tables);
    await conn.end();
  });
});
