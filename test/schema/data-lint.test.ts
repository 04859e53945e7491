// Findings that are true and backed by the data: counts of the live rows that make a change fail,
// with examples and a time budget (then a labelled sample); accurate messages (time zones, engine
// copies, sizes from the tablespace); lint judging what the change introduces, existing debt apart.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { planSchema, type Plan } from '../../runner/schema/planner.ts';
import { countBySeverity, renderPlanMarkdown } from '../../runner/schema/render-markdown.ts';
import { applyPlan, withPlanFixture } from '../support/plan-case.ts';

const finding = (plan: Plan, code: string) => plan.findings.find((f) => f.code === code)!;

const LIVE = `CREATE TABLE t (id INT PRIMARY KEY, note VARCHAR(100), n INT, tag VARCHAR(10), x INT,
  status ENUM('new','old','gone') NOT NULL DEFAULT 'new', d DATETIME, ts TIMESTAMP NULL)`;
// 2000 rows: every fifth (id 2, 7, 12, …) has a 60-character note and n = 1000; tag 'n' on 12 rows,
// 'm' on 3; x NULL on ids up to 30; 'gone' on 7 rows; one date before 1970.
const ROWS = [
  `INSERT INTO t (id, note, n, tag, x, status) SELECT seq, IF(seq % 5 = 2, REPEAT('x', 60), 'short'), IF(seq % 5 = 2, 1000, 1),
     CASE WHEN seq <= 12 THEN 'n' WHEN seq <= 15 THEN 'm' ELSE CONCAT('u', seq) END, IF(seq <= 30, NULL, 1),
     IF(seq BETWEEN 100 AND 106, 'gone', 'new') FROM seq_1_to_2000`,
  "UPDATE t SET d = '1960-05-01 00:00:00' WHERE id = 40",
];
const DESIRED = `CREATE TABLE t (
  id INT PRIMARY KEY,
  note VARCHAR(50),
  n TINYINT,
  tag VARCHAR(10),
  x INT NOT NULL,
  status ENUM('new','old') NOT NULL DEFAULT 'new',
  d TIMESTAMP NULL,
  ts DATETIME NULL,
  UNIQUE KEY uk_tag (tag)
)`;

describe('data-aware lint', () => {
  it('counts the offending live rows of each risky change, with primary-key examples, in JSON and Markdown', async () => {
    await withPlanFixture([LIVE, ...ROWS], { t: DESIRED }, async (fixture) => {
      const plan = await fixture.plan();
      expect(finding(plan, 'SB103').message).toMatch(/^400 row\(s\) have `note` longer than 50 characters \(e\.g\. id 2; id 7; id 12\): this migration will fail\./);
      expect(finding(plan, 'SB103').data).toEqual({ count: 400, unit: 'rows', examples: ['id 2', 'id 7', 'id 12'], what: 'have `note` longer than 50 characters' });
      const narrowings = plan.findings.filter((f) => f.code === 'SB103').map((f) => [f.subject, f.data?.count]);
      expect(narrowings).toEqual([['note', 400], ['n', 400], ['d', 1]]);
      expect(plan.findings.find((f) => f.code === 'SB103' && f.subject === 'n')!.message).toMatch(/have `n` outside -128 … 127/);
      expect(plan.findings.find((f) => f.code === 'SB103' && f.subject === 'd')!.message).toMatch(/^1 row\(s\) have `d` outside the TIMESTAMP range \(e\.g\. id 40\)/);
      expect(finding(plan, 'SB202').data!.count).toBe(30);
      expect(finding(plan, 'SB202').message).toMatch(/^30 row\(s\) have NULL in `x`/);
      expect(finding(plan, 'SB203').message).toMatch(/^7 row\(s\) hold removed enum value\(s\) 'gone' in `status` \(e\.g\. id 100; id 101; id 102\)/);
      expect(finding(plan, 'SB201').data).toMatchObject({ count: 2, unit: 'groups', examples: ['id 1', 'id 2', 'id 3'] });
      expect(finding(plan, 'SB201').message).toMatch(/^2 duplicate group\(s\) for new unique key `uk_tag` \(the largest: 12 rows with one value\)/);
      const markdown = renderPlanMarkdown(plan);
      expect(markdown).toContain('400 row(s) have `note` longer than 50 characters');
      expect(markdown).toContain('2 duplicate group(s) for new unique key `uk_tag`');
    });
  });

  it('past its time budget, a count is taken over a clearly labelled sample', async () => {
    await withPlanFixture([LIVE, ...ROWS], { t: DESIRED }, async (fixture) => {
      const plan = await planSchema({ target: fixture.target, schemaDir: fixture.dir, root: fixture.dir, dataChecks: { budgetSeconds: 0, sampleRows: 1000 } });
      expect(finding(plan, 'SB103').data).toMatchObject({ count: 200, sampledRows: 1000 });
      expect(finding(plan, 'SB103').message).toMatch(/^In a sample of the first 1,000 rows \(the full count ran out of its time budget\): 200 row\(s\)/);
      await fixture.conn.query('INSERT INTO t (id, note) SELECT seq, REPEAT(\'y\', 70) FROM seq_3000_to_300000');
      const timed = await planSchema({ target: fixture.target, schemaDir: fixture.dir, root: fixture.dir, dataChecks: { budgetSeconds: 0.0001, sampleRows: 1000 } });
      expect(finding(timed, 'SB103').data).toMatchObject({ count: 200, sampledRows: 1000 });
    });
  });

  it('says when no row stands in the way', async () => {
    await withPlanFixture(['CREATE TABLE t (id INT PRIMARY KEY, note VARCHAR(100))', "INSERT INTO t VALUES (1, 'short')"],
      { t: 'CREATE TABLE t (id INT PRIMARY KEY, note VARCHAR(50))' }, async (fixture) => {
        const plan = await fixture.plan();
        expect(finding(plan, 'SB103').message).toMatch(/^No row has `note` longer than 50 characters today\./);
      });
  });
});

describe('messages that are true', () => {
  it('TIMESTAMP → DATETIME is a time-zone semantics change, not a narrowing', async () => {
    await withPlanFixture(['CREATE TABLE t (id INT PRIMARY KEY, ts TIMESTAMP NULL, d DATE)'], {
      t: 'CREATE TABLE t (id INT PRIMARY KEY, ts DATETIME NULL, d DATETIME)',
    }, async (fixture) => {
      const plan = await fixture.plan();
      expect(plan.findings.map((f) => `${f.code} ${f.subject}`)).toEqual(['SB105 ts']);
      expect(finding(plan, 'SB105').message).toMatch(/TIMESTAMP → DATETIME changes time-zone semantics/);
    });
  });

  it('MyISAM → InnoDB is a blocking table copy with an ETA, not INSTANT', async () => {
    await withPlanFixture(['CREATE TABLE t (id INT PRIMARY KEY, v INT) ENGINE=MyISAM', 'INSERT INTO t SELECT seq, seq FROM seq_1_to_5000'], {
      t: 'CREATE TABLE t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB',
    }, async (fixture) => {
      const plan = await fixture.plan();
      const [change] = plan.changes;
      expect(change.algorithm).toBe('COPY');
      expect(change.impact).toMatchObject({ method: 'copy', rows: 5000, blockingReason: expect.stringMatching(/ENGINE=MyISAM → InnoDB/) });
      expect(change.impact.etaSeconds).toBeGreaterThan(0);
      expect(change.locks).toMatch(/writes are blocked/);
      expect(renderPlanMarkdown(plan)).toContain('| `t` | table copy by the server (blocks writes) | 5,000 |');
      await applyPlan(fixture.conn, plan);
      expect((await fixture.plan()).changes).toEqual([]);
    });
  });

  it('sizes come from the tablespace, not from stale statistics', async () => {
    await withPlanFixture(['CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(100), KEY k (v))'], {
      t: 'CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(100), w INT, KEY k (v))',
    }, async (fixture) => {
      await fixture.conn.query("INSERT INTO t (id, v) SELECT seq, REPEAT('x', 50) FROM seq_1_to_200000");
      const [[stats]] = await fixture.conn.query<RowDataPacket[]>(
        'SELECT DATA_LENGTH + INDEX_LENGTH AS bytes FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', ['t']);
      const plan = await fixture.plan();
      const { impact } = plan.changes[0];
      expect(impact.sizeSource).toBe('tablespace');
      expect(impact.dataBytes + impact.indexBytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(impact.dataBytes + impact.indexBytes).toBeGreaterThan(10 * Number(stats.bytes));
    });
  });
});

describe('lint judges what the change does', () => {
  // Tables without a primary key, as in MediaWiki's published schema.
  const MEDIAWIKI = ['searchindex', 'user_newtalk', 'objectcache_keys', 'externallinks_old']
    .map((t) => `CREATE TABLE ${t} (si_page INT UNSIGNED NOT NULL, KEY si_page (si_page))`);
  const files = (extra: Record<string, string> = {}) => ({
    ...Object.fromEntries(MEDIAWIKI.map((sql) => [/CREATE TABLE (\w+)/.exec(sql)![1], sql])),
    page: 'CREATE TABLE page (page_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, page_title VARBINARY(255) NOT NULL, page_len INT)',
    ...extra,
  });

  it('existing debt on tables the change does not make worse is one notice, never an error', async () => {
    await withPlanFixture([...MEDIAWIKI, 'CREATE TABLE page (page_id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, page_title VARBINARY(255) NOT NULL)'],
      files(), async (fixture) => {
        const plan = await fixture.plan();
        expect(countBySeverity(plan).error).toBe(0);
        expect(plan.findings.map((f) => [f.code, f.severity])).toEqual([['SB001', 'notice']]);
        expect(plan.findings[0].message).toMatch(/4 finding\(s\) were already true before this change.*SB301 missing-primary-key × 4/);
        expect(plan.debt!.map((f) => `${f.code} ${f.table}`).sort()).toEqual(MEDIAWIKI.map((sql) => `SB301 ${/CREATE TABLE (\w+)/.exec(sql)![1]}`).sort());
        expect(renderPlanMarkdown(plan)).toContain('Existing debt: 4 finding(s) already true before this change, not judged');

        // What the change introduces is judged; the config may make debt count too.
        fixture.writeFiles(files({ fresh: 'CREATE TABLE fresh (v INT)' }));
        const introduced = await fixture.plan();
        expect(introduced.findings.filter((f) => f.severity === 'error').map((f) => `${f.code} ${f.table}`)).toEqual(['SB301 fresh']);
        writeFileSync(join(fixture.dir, '.schemabot.yml'), 'lint:\n  existing-debt: error\n');
        expect(finding(await fixture.plan(), 'SB001').severity).toBe('error');
      });
  });
});
