// Lint findings at file lines, suppressions, per-repo severities, file errors, impact, base-branch
// drift and the Markdown rendering.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderPlanMarkdown, GITHUB_COMMENT_LIMIT } from '../../runner/schema/render-markdown.ts';
import type { Plan } from '../../runner/schema/planner.ts';
import { planSchema } from '../../runner/schema/planner.ts';
import { withPlanFixture } from '../support/plan-case.ts';

const USERS_LIVE = `CREATE TABLE users (id INT UNSIGNED NOT NULL AUTO_INCREMENT, email VARCHAR(100) NOT NULL, name VARCHAR(50),
  status ENUM('active','banned','gone') NOT NULL DEFAULT 'active', legacy INT, PRIMARY KEY (id)) AUTO_INCREMENT=3000000000`;

const USERS_DESIRED = `CREATE TABLE users (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  email VARCHAR(100) NOT NULL,
  name VARCHAR(20),
  status ENUM('active','gone') NOT NULL DEFAULT 'active',
  price FLOAT,
  PRIMARY KEY (id),
  UNIQUE KEY uk_email (email),
  KEY k_email (email)
)`;

const codes = (plan: Plan) => plan.findings.map((f) => `${f.code}@${f.line ?? '-'}`).sort();

describe('plan: lint, impact and rendering', () => {
  it('reports each finding at the line of the .sql file it is about', async () => {
    await withPlanFixture([USERS_LIVE, 'CREATE TABLE gone (id INT PRIMARY KEY)'], { users: USERS_DESIRED }, async (fixture) => {
      const plan = await fixture.plan();
      expect(codes(plan)).toEqual([
        'SB001@-', // existing debt: the auto-increment counter was as high before the change
        'SB101@-', // drop table gone (no file left to point at)
        'SB102@1', // drop column legacy: the table's line
        'SB103@4', // name varchar(50) -> varchar(20)
        'SB201@8', // new unique key
        'SB203@5', // enum value removed
        'SB302@9', // k_email is a prefix of uk_email
        'SB306@6', // float price
      ]);
      const narrowing = plan.findings.find((f) => f.code === 'SB103')!;
      expect(narrowing).toMatchObject({ severity: 'error', path: 'users.sql', table: 'users' });
      expect(narrowing.message).toMatch(/varchar\(50\) → varchar\(20\) truncates longer values/);
      expect(plan.debt!.map((f) => `${f.code}@${f.line}`)).toEqual(['SB308@2']); // auto-increment at 3e9 of 4.29e9
      expect(plan.debt![0].message).toMatch(/used 69\.8% of its range/);
    });
  });

  it('flags schema smells: keys, engines, charsets, foreign keys, reserved words, NOT NULL and charset changes', async () => {
    await withPlanFixture(['CREATE TABLE p (id INT PRIMARY KEY, code VARCHAR(10) CHARACTER SET latin1, KEY k (code))'], {
      p: 'CREATE TABLE p (\n  id INT PRIMARY KEY,\n  code VARCHAR(10) CHARACTER SET utf8mb4,\n  rank INT NOT NULL,\n  KEY k (code)\n)',
      nokey: 'CREATE TABLE nokey (\n  v INT\n) ENGINE=Aria DEFAULT CHARSET=latin1',
      child: 'CREATE TABLE child (\n  id INT PRIMARY KEY,\n  p INT,\n  CONSTRAINT fk_p FOREIGN KEY (p) REFERENCES p (id)\n)',
    }, async (fixture) => {
      const plan = await fixture.plan();
      const byCode = (code: string) => plan.findings.filter((f) => f.code === code).map((f) => `${f.path}:${f.line}`);
      expect(byCode('SB104')).toEqual(['p.sql:3']);
      expect(byCode('SB202')).toEqual(['p.sql:4']);
      expect(byCode('SB301')).toEqual(['nokey.sql:1']);
      expect(byCode('SB303')).toEqual(['child.sql:4']);
      expect(byCode('SB304')).toEqual(['nokey.sql:1']);
      expect(byCode('SB305')).toEqual(['nokey.sql:1']);
      expect(byCode('SB307')).toEqual(['p.sql:4']);
    });
  });

  it('honours suppressions with a reason and per-repo severities', async () => {
    await withPlanFixture([USERS_LIVE], {
      users: USERS_DESIRED
        .replace('name VARCHAR(20),', 'name VARCHAR(20), -- schemabot:ignore SB103 names were capped at 20 in the app since 2023')
        .replace("  status ENUM", '  -- schemabot:ignore SB203\n  status ENUM'),
    }, async (fixture) => {
      writeFileSync(join(fixture.dir, '.schemabot.yml'), 'lint:\n  SB306: error\n  redundant-index: off\n');
      const plan = await fixture.plan();
      expect(plan.findings.some((f) => f.code === 'SB103')).toBe(false);
      // A suppression without a reason does not suppress, and says so.
      expect(plan.findings.filter((f) => f.code === 'SB203' || f.code === 'SB002').map((f) => [f.code, f.line])).toEqual([['SB203', 6], ['SB002', 6]]);
      expect(plan.findings.find((f) => f.code === 'SB306')!.severity).toBe('error');
      expect(plan.findings.some((f) => f.code === 'SB302')).toBe(false);
    });
  });

  it('reports syntax errors with file and line and never plans a DROP for a broken file', async () => {
    await withPlanFixture(['CREATE TABLE t (id INT PRIMARY KEY)', 'CREATE TABLE u (id INT PRIMARY KEY)'], {
      t: '-- the t table\nCREATE TABLE t (\n  id INT PRIMARY KEY,\n  name VARCHAR(10) NOTT NULL\n)',
      u: 'CREATE TABLE u (id INT PRIMARY KEY, v INT)',
    }, async (fixture) => {
      writeFileSync(join(fixture.dir, 'misnamed.sql'), 'CREATE TABLE other (id INT PRIMARY KEY)');
      const plan = await fixture.plan();
      expect(plan.errors.map((e) => [e.path, e.line])).toEqual([['misnamed.sql', 1], ['t.sql', 4]]);
      expect(plan.errors[1].message).toMatch(/SQL syntax.*near 'NULL/s);
      expect(plan.changes.map((c) => [c.table, c.kind])).toEqual([['u', 'alter']]);
    });
  });

  it('never plans a DROP for a file that does not parse, and refuses schema-qualified names', async () => {
    await withPlanFixture(['CREATE TABLE users (id INT PRIMARY KEY)', 'CREATE TABLE orders (id INT PRIMARY KEY)',
      'CREATE TABLE notes (id INT PRIMARY KEY)'], {
      users: "-- users: don't touch; they're precious\nCREATE TABLE users (id INT PRIMARY KEY, note VARCHAR(10) COMMENT \"a; b\")",
      orders: 'CREATE TABEL orders (id INT PRIMARY KEY)',
      notes: 'CREATE TABLE other_db.notes (id INT PRIMARY KEY)',
    }, async (fixture) => {
      const plan = await fixture.plan();
      expect(plan.errors.map((e) => [e.path, e.line, e.message.slice(0, 30)])).toEqual([
        ['notes.sql', 1, 'use an unqualified table name:'],
        ['orders.sql', 1, 'not a CREATE TABLE statement'],
      ]);
      expect(plan.changes.map((c) => [c.table, c.kind])).toEqual([['users', 'alter']]);
    });
  });

  it('never runs a query from a schema file: no data read through an error, no copy of another table', async () => {
    await withPlanFixture(['CREATE TABLE creds (v VARCHAR(40) PRIMARY KEY)', "INSERT INTO creds VALUES ('TopSecretValue')",
      'CREATE TABLE users (id INT PRIMARY KEY)'], {
      creds: 'CREATE TABLE creds (v VARCHAR(40) PRIMARY KEY)',
      users: 'CREATE TABLE users (id INT PRIMARY KEY)',
      leak: 'CREATE TABLE leak (id INT PRIMARY KEY)\nSELECT 1 AS id FROM DUAL WHERE EXTRACTVALUE(1, CONCAT(0x7e, (SELECT v FROM creds LIMIT 1))) IS NOT NULL',
      slow: 'CREATE TABLE slow (id INT PRIMARY KEY) AS SELECT SLEEP(30) AS id',
      copy: 'CREATE TABLE copy LIKE creds',
      copy2: 'CREATE TABLE copy2 (LIKE creds)',
    }, async (fixture) => {
      const plan = await fixture.plan();
      expect(plan.errors.map((e) => [e.path, e.line])).toEqual([['copy.sql', 1], ['copy2.sql', 1], ['leak.sql', 2], ['slow.sql', 1]]);
      for (const error of plan.errors) expect(error.message).toMatch(/only a plain CREATE TABLE definition/);
      expect(JSON.stringify(plan)).not.toContain('TopSecretValue');
      expect(plan.changes).toEqual([]);
    });
  });

  it('maps columns and indexes of the same name to their own lines; suppressions above CREATE TABLE count', async () => {
    await withPlanFixture(['CREATE TABLE t (email VARCHAR(100) NOT NULL)'], {
      t: '-- schemabot:ignore SB301 legacy table, key comes with the rewrite\nCREATE TABLE t (\n  email VARCHAR(50) NOT NULL,\n  UNIQUE KEY email (email)\n)',
    }, async (fixture) => {
      const plan = await fixture.plan();
      expect(plan.findings.map((f) => `${f.code}@${f.line}`).sort()).toEqual(['SB103@3', 'SB201@4']);
    });
  });

  it('estimates impact from the live table and the server’s own algorithm', async () => {
    await withPlanFixture(['CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(100), n INT, g INT AS (id + 1) VIRTUAL)'], {
      big: 'CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(100), n BIGINT, g INT AS (id + 1) VIRTUAL, KEY k_v (v))',
    }, async (fixture) => {
      await fixture.conn.query("INSERT INTO big (id, v, n) SELECT seq, REPEAT('x', 50), seq FROM seq_1_to_30000");
      await fixture.conn.query('ANALYZE TABLE big');
      const plan = await fixture.plan();
      const [change] = plan.changes;
      expect(change.algorithm).toBe('COPY');
      expect(change.impact.method).toBe('online-migration');
      expect(change.impact.rows).toBeGreaterThan(20_000);
      expect(change.impact.dataBytes).toBeGreaterThan(1_000_000);
      expect(change.impact.headroomBytes).toBeGreaterThanOrEqual(change.impact.dataBytes + change.impact.indexBytes);
      expect(change.impact.measuredRowsPerSecond).toBeGreaterThan(0);
      expect(change.impact.etaSeconds).toBeCloseTo(change.impact.rows / change.impact.measuredRowsPerSecond!, 5);
    });
  });

  it('with the base branch, shows what the PR changes and the drift of the live database', async () => {
    await withPlanFixture(['CREATE TABLE t (id INT PRIMARY KEY, hotfix INT)'], {
      t: 'CREATE TABLE t (id INT PRIMARY KEY, added_by_pr INT)',
    }, async (fixture) => {
      const base = join(fixture.dir, 'base');
      (await import('node:fs')).mkdirSync(base);
      writeFileSync(join(base, 't.sql'), 'CREATE TABLE t (id INT PRIMARY KEY)');
      const plan = await planSchema({ target: fixture.target, schemaDir: fixture.dir, baseDir: base, root: fixture.dir });
      expect(plan.pullRequest!.flatMap((c) => c.statements)).toEqual(['ALTER TABLE `t` ADD COLUMN `added_by_pr` int(11) DEFAULT NULL AFTER `id`']);
      expect(plan.drift!.flatMap((c) => c.statements)).toEqual(['ALTER TABLE `t` DROP COLUMN `hotfix`']);
      const markdown = renderPlanMarkdown(plan);
      expect(markdown).toContain('What this pull request changes (1)');
      expect(markdown).toContain('Drift: the live database differs from the base branch (1)');
    });
  });

  it('renders Markdown with SQL, impact and findings, and stays under GitHub’s limit', async () => {
    await withPlanFixture([USERS_LIVE], { users: USERS_DESIRED }, async (fixture) => {
      const plan = await fixture.plan();
      const markdown = renderPlanMarkdown(plan);
      expect(markdown).toContain('```sql\nALTER TABLE `users`');
      expect(markdown).toContain('| `users` | table copy → online migration |');
      expect(markdown).toMatch(/\| ❌ error \| `SB103` narrowing \| `users\.sql:4` \|/);
      const huge: Plan = { ...plan, changes: Array.from({ length: 400 }, (_, i) => ({ ...plan.changes[0], table: `t${i}` })) };
      const truncated = renderPlanMarkdown(huge);
      expect(truncated.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
      expect(truncated).toMatch(/truncated|too long for one comment/);
    });
  });
});
