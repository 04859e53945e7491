// Pull-request SQL is untrusted: no schema file may read data, run functions or reach outside the
// database (text checks, variants of the EXTRACTVALUE/SLEEP attack); files are loaded by an account
// whose privileges end at the workspace; a plan account that cannot create it says so; nothing the plan
// copies reaches the binlog; a file too large for one packet fails alone.
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { connect } from '../../runner/db/connect.ts';
import { PlanRun } from '../../runner/schema/plan-run.ts';
import { planSchema } from '../../runner/schema/planner.ts';
import { renderPlanMarkdown } from '../../runner/schema/render-markdown.ts';
import { parseSchemaFile, type SchemaFile } from '../../runner/schema/schema-files.ts';
import { Workspace } from '../../runner/schema/workspace.ts';
import { createWorkspaceAccount } from '../../runner/schema/workspace-account.ts';
import { withPlanFixture } from '../support/plan-case.ts';

const SECRET = 'TopSecretValue';
const SECRETS = ['CREATE TABLE creds (v VARCHAR(40) PRIMARY KEY)', `INSERT INTO creds VALUES ('${SECRET}')`];
const PROBE = `EXTRACTVALUE(1, CONCAT(0x7e, (SELECT v FROM creds LIMIT 1)))`;

/** Each attack, the line its refusal must name, and the start of the refusal. */
const ATTACKS: { name: string; text: string; line: number; refusal: RegExp }[] = [
  { name: 'CREATE … SELECT reading another table through an error', line: 2, refusal: /only a plain CREATE TABLE/,
    text: `CREATE TABLE t (id INT PRIMARY KEY)\nSELECT 1 AS id FROM DUAL WHERE ${PROBE} IS NOT NULL` },
  { name: 'the SELECT inside an executable comment', line: 1, refusal: /only a plain CREATE TABLE/,
    text: `CREATE TABLE t (id INT PRIMARY KEY) /*!50000 SELECT ${PROBE} AS id */` },
  { name: 'the SELECT inside a MariaDB executable comment', line: 2, refusal: /only a plain CREATE TABLE/,
    text: `CREATE TABLE t (id INT PRIMARY KEY)\n/*M!100100 SELECT SLEEP(30) AS id */` },
  { name: 'VALUES running functions', line: 1, refusal: /only a plain CREATE TABLE/,
    text: 'CREATE TABLE t (id INT PRIMARY KEY) IGNORE VALUES (EXTRACTVALUE(1, CONCAT(0x7e, @@datadir))), (SLEEP(30))' },
  { name: 'a copy of another table', line: 1, refusal: /only a plain CREATE TABLE/, text: 'CREATE TABLE t LIKE creds' },
  { name: 'a foreign key into another schema', line: 3, refusal: /same database/,
    text: 'CREATE TABLE t (\n  id INT PRIMARY KEY,\n  CONSTRAINT f FOREIGN KEY (id) REFERENCES mysql.`user` (id)\n)' },
  { name: 'an engine that reads files or other servers', line: 1, refusal: /ENGINE=CONNECT is not allowed/,
    text: "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=CONNECT TABLE_TYPE=DIR FILE_NAME='*'" },
  { name: 'an engine named by a string', line: 2, refusal: /ENGINE=CONNECT is not allowed/,
    text: "CREATE TABLE t (id INT PRIMARY KEY)\nENGINE = 'CONNECT' TABLE_TYPE=DIR FILE_NAME='*'" },
  { name: 'an engine named by a quoted identifier', line: 1, refusal: /ENGINE=FEDERATED is not allowed/,
    text: "CREATE TABLE t (id INT PRIMARY KEY) ENGINE `FEDERATED`" },
  { name: 'a remote connection', line: 2, refusal: /reach outside the database/,
    text: "CREATE TABLE t (id INT PRIMARY KEY)\nENGINE=InnoDB CONNECTION='mysql://u:p@evil:3306/db/t'" },
  { name: 'a data directory', line: 1, refusal: /reach outside the database/, text: "CREATE TABLE t (id INT PRIMARY KEY) DATA DIRECTORY='/tmp'" },
  { name: 'a second statement after the table', line: 1, refusal: /exactly one CREATE TABLE/,
    text: `CREATE TABLE t (id INT PRIMARY KEY); SELECT ${PROBE}` },
];

describe('schema files from pull requests', () => {
  for (const attack of ATTACKS) {
    it(`refuses ${attack.name}, at its line`, () => {
      const parsed = parseSchemaFile('t.sql', attack.text);
      expect(parsed).toMatchObject({ path: 't.sql', line: attack.line, message: expect.stringMatching(attack.refusal) });
    });
  }

  it('accepts plain definitions that only look like the refused forms', () => {
    const text = "CREATE TABLE t (\n  id INT PRIMARY KEY,\n  engine VARCHAR(10), `connection` INT, `select` INT, value INT,\n"
      + "  note VARCHAR(20) COMMENT 'SELECT VALUES LIKE ENGINE=CONNECT'\n) ENGINE=InnoDB COMMENT 'a table; like others'\n"
      + 'PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN MAXVALUE)';
    expect(parseSchemaFile('t.sql', text)).toMatchObject({ table: 't', statementLine: 1 });
  });

  it('plans with every attack in the files: each refused, no secret anywhere, the rest planned', async () => {
    const files = Object.fromEntries(ATTACKS.map((a, i) => [`t${i}`, a.text.replace(/\bTABLE t\b/, `TABLE t${i}`)]));
    await withPlanFixture(SECRETS, { ...files, creds: SECRETS[0], fine: 'CREATE TABLE fine (id INT PRIMARY KEY)' }, async (fixture) => {
      const plan = await fixture.plan();
      expect(plan.errors.map((e) => e.path).sort()).toEqual(ATTACKS.map((_, i) => `t${i}.sql`).sort());
      expect(plan.changes.map((c) => `${c.kind} ${c.table}`)).toEqual(['create fine']);
      expect(plan.workspace).toMatchObject({ isolated: true, offBinlog: true });
      expect(JSON.stringify(plan) + renderPlanMarkdown(plan)).not.toContain(SECRET);
    });
  });

  it('loads files with an account whose privileges end at the workspace: a query that passed the checks still reads nothing', async () => {
    await withPlanFixture(SECRETS, {}, async (fixture) => {
      const { run } = await PlanRun.start(fixture.conn);
      const account = await createWorkspaceAccount(fixture.conn, fixture.target, run.id, [run.schema('ws')]);
      if ('reason' in account) throw new Error(account.reason);
      try {
        const workspace = await Workspace.open(run.schema('ws'), { charset: 'utf8mb4', collation: 'utf8mb4_general_ci' }, account.connect);
        // Files as they would be if the text checks missed something.
        const unchecked = (table: string, sql: string): SchemaFile => ({ ...(parseSchemaFile(`${table}.sql`, `CREATE TABLE ${table} (id INT)`) as SchemaFile), sql });
        const errors = await workspace.load([
          unchecked('leak', `CREATE TABLE leak (id INT) SELECT 1 AS id FROM DUAL WHERE EXTRACTVALUE(1, CONCAT(0x7e, (SELECT v FROM \`${fixture.target.database}\`.creds LIMIT 1))) IS NOT NULL`),
          unchecked('slow', 'CREATE TABLE slow (id INT) SELECT SLEEP(30) AS id'),
          unchecked('vals', 'CREATE TABLE vals (id INT) VALUES (SLEEP(30))'),
          unchecked('fk', `CREATE TABLE fk (id VARCHAR(40), FOREIGN KEY (id) REFERENCES \`${fixture.target.database}\`.creds (v))`),
        ]);
        await workspace.drop();
        expect(errors.map((e) => e.message)).toEqual([
          expect.stringMatching(/INSERT command denied/), expect.stringMatching(/INSERT command denied/),
          expect.stringMatching(/INSERT command denied/), expect.stringMatching(/REFERENCES command denied/),
        ]);
        expect(JSON.stringify(errors)).not.toContain(SECRET);
        const conn = await account.connect();
        const [[limits]] = await conn.query<RowDataPacket[]>('SELECT @@max_statement_time AS t');
        const [schemas] = await conn.query<RowDataPacket[]>('SHOW DATABASES');
        await conn.end();
        expect(Number(limits.t)).toBe(10);
        expect(schemas.map((s) => s.Database)).toEqual(['information_schema']);
      } finally {
        await account.drop();
        await run.end();
      }
      const [left] = await fixture.conn.query<RowDataPacket[]>('SELECT User FROM mysql.user WHERE User = ?', [`_schemabot_ws_${run.id}`]);
      expect(left).toEqual([]);
    });
  });

  it('a plan account that cannot create the workspace account says so, keeps the checks, and copies no row into the binlog', async () => {
    await withPlanFixture([...SECRETS, 'CREATE TABLE t (id INT PRIMARY KEY, v INT)', 'INSERT INTO t SELECT seq, seq FROM seq_1_to_5000'], {
      creds: SECRETS[0],
      t: 'CREATE TABLE t (id INT PRIMARY KEY, v BIGINT)',
      leak: `CREATE TABLE leak (id INT PRIMARY KEY) /*!50000 SELECT ${PROBE} AS id */`,
    }, async (fixture) => {
      const user = `planner_${process.pid}`;
      const db = fixture.target.database;
      await fixture.conn.query('CREATE USER ?@? IDENTIFIED BY ?', [user, '%', 'planner-password-1']);
      try {
        await fixture.conn.query(`GRANT SELECT ON \`${db}\`.* TO ?@?`, [user, '%']);
        await fixture.conn.query('GRANT SELECT, INSERT, CREATE, DROP, ALTER, INDEX, REFERENCES ON `\\_schemabot\\_%`.* TO ?@?', [user, '%']);
        const [[before]] = await fixture.conn.query<RowDataPacket[]>('SHOW MASTER STATUS');
        const plan = await planSchema({ target: { ...fixture.target, user, password: 'planner-password-1' }, schemaDir: fixture.dir, root: fixture.dir });
        expect(plan.workspace!.isolated).toBe(false);
        expect(plan.workspace!.offBinlog).toBe(false);
        expect(plan.workspace!.notes.join(' ')).toMatch(/cannot create a workspace account.*statement checks/);
        expect(plan.workspace!.notes.join(' ')).toMatch(/no live rows were copied/);
        expect(plan.errors.map((e) => [e.path, e.line])).toEqual([['leak.sql', 1]]);
        expect(plan.changes.map((c) => [c.table, c.impact.rateSource])).toEqual([['t', 'assumed']]);
        expect(renderPlanMarkdown(plan)).toContain('(assumed rate)');
        const [events] = await fixture.conn.query<RowDataPacket[]>(`SHOW BINLOG EVENTS IN '${before.File}' FROM ${before.Position}`);
        expect(events.filter((e) => /rows/i.test(String(e.Event_type)))).toEqual([]);
        expect(JSON.stringify(plan)).not.toContain('planner-password-1');
      } finally {
        await fixture.conn.query('DROP USER ?@?', [user, '%']);
      }
    });
  });

  it('a file larger than max_allowed_packet fails alone, unread, and the rest of the plan is intact', async () => {
    await withPlanFixture(['CREATE TABLE a (id INT PRIMARY KEY)', 'CREATE TABLE huge (id INT PRIMARY KEY)'], {
      a: 'CREATE TABLE a (id INT PRIMARY KEY, v INT)', b: 'CREATE TABLE b (id INT PRIMARY KEY)',
    }, async (fixture) => {
      const [[packet]] = await fixture.conn.query<RowDataPacket[]>('SELECT @@max_allowed_packet AS n');
      const huge = join(fixture.dir, 'huge.sql');
      writeFileSync(huge, 'CREATE TABLE huge (id INT PRIMARY KEY)');
      truncateSync(huge, Number(packet.n) + 1);
      const plan = await fixture.plan();
      expect(plan.errors).toEqual([{ path: 'huge.sql', line: 1, message: expect.stringMatching(/more than the server accepts in one statement/) }]);
      expect(plan.changes.map((c) => `${c.kind} ${c.table}`)).toEqual(['create b', 'alter a']);
      const [left] = await fixture.conn.query<RowDataPacket[]>("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '\\_schemabot\\_%'");
      expect(left).toEqual([]);
    });
  });
});

describe('the time all files may take to load', () => {
  it('turns the files past it into errors that keep their tables from being dropped', async () => {
    await withPlanFixture(['CREATE TABLE a (id INT PRIMARY KEY)', 'CREATE TABLE b (id INT PRIMARY KEY)'], {
      a: 'CREATE TABLE a (id INT PRIMARY KEY, v INT)', b: 'CREATE TABLE b (id INT PRIMARY KEY, w INT)',
    }, async (fixture) => {
      const plan = await planSchema({ target: fixture.target, schemaDir: fixture.dir, root: fixture.dir, loadBudgetMs: -1 });
      expect(plan.errors.map((e) => [e.path, e.line])).toEqual([['a.sql', 1], ['b.sql', 1]]);
      expect(plan.errors[0].message).toMatch(/^not loaded: loading the schema files took more than .* s in all/);
      expect(plan.changes).toEqual([]);
    });
  });
});

describe('scratch schemas of killed plans', () => {
  const scratchSchemas = async (conn: import('mysql2/promise').Connection) => {
    const [rows] = await conn.query<RowDataPacket[]>("SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '\\_schemabot\\_%' ORDER BY 1");
    return rows.map((r) => String(r.s));
  };

  it('are reclaimed by the next plan; those of a plan still running are not', async () => {
    await withPlanFixture([], { t: 'CREATE TABLE t (id INT PRIMARY KEY)' }, async (fixture) => {
      await fixture.conn.query('CREATE DATABASE `_schemabot_ws_0badc0de`');
      await fixture.conn.query('CREATE DATABASE `_schemabot_scratch_0badc0de`');
      await fixture.conn.query("CREATE USER '_schemabot_ws_0badc0de'@'localhost'");
      // A plan that is still running holds its lock.
      const running = await connect(fixture.target);
      await running.query("SELECT GET_LOCK('schemabot_plan_a11ce0a11ce0', 0)");
      await fixture.conn.query('CREATE DATABASE `_schemabot_ws_a11ce0a11ce0`');
      try {
        await fixture.plan();
        expect(await scratchSchemas(fixture.conn)).toEqual(['_schemabot_ws_a11ce0a11ce0']);
        const [users] = await fixture.conn.query<RowDataPacket[]>("SELECT User FROM mysql.user WHERE User LIKE '\\_schemabot\\_ws\\_%'");
        expect(users).toEqual([]);
      } finally {
        // As its connection ends (the server may notice a closed connection a moment later).
        await running.query("SELECT RELEASE_LOCK('schemabot_plan_a11ce0a11ce0')");
        await running.end();
      }
      await fixture.plan();
      expect(await scratchSchemas(fixture.conn)).toEqual([]);
    });
  });
});
