// The diff engine on a table of from/to cases: for each, the plan's DDL must pass its own verification,
// and after applying it to the live database a second plan must find nothing left to do.
import { describe, expect, it } from 'vitest';
import { analyzeAlter } from '../../runner/engine/alter-text.ts';
import { applyPlan, withPlanFixture } from '../support/plan-case.ts';

interface DiffCase {
  name: string;
  from: string[];
  to: Record<string, string>;
  /** Expected statements, when the exact text matters. */
  statements?: string[];
  algorithm?: 'INSTANT' | 'INPLACE' | 'COPY';
}

const T = 'CREATE TABLE t (id INT NOT NULL, a VARCHAR(20) NULL, b INT NULL, PRIMARY KEY (id))';

const cases: DiffCase[] = [
  { name: 'add a column at the end', from: [T], to: { t: 'CREATE TABLE t (id INT NOT NULL, a VARCHAR(20) NULL, b INT NULL, c DATE NULL, PRIMARY KEY (id))' },
    statements: ['ALTER TABLE `t` ADD COLUMN `c` date DEFAULT NULL AFTER `b`'], algorithm: 'INSTANT' },
  { name: 'add a column in the middle', from: [T], to: { t: 'CREATE TABLE t (id INT NOT NULL, c INT NOT NULL DEFAULT 3, a VARCHAR(20) NULL, b INT NULL, PRIMARY KEY (id))' },
    statements: ['ALTER TABLE `t` ADD COLUMN `c` int(11) NOT NULL DEFAULT 3 AFTER `id`'] },
  { name: 'add a first column', from: [T], to: { t: 'CREATE TABLE t (z INT NULL, id INT NOT NULL, a VARCHAR(20) NULL, b INT NULL, PRIMARY KEY (id))' } },
  { name: 'drop a column', from: [T], to: { t: 'CREATE TABLE t (id INT NOT NULL, b INT NULL, PRIMARY KEY (id))' },
    statements: ['ALTER TABLE `t` DROP COLUMN `a`'] },
  { name: 'widen types', from: [T], to: { t: 'CREATE TABLE t (id BIGINT NOT NULL, a VARCHAR(200) NULL, b BIGINT NULL, PRIMARY KEY (id))' } },
  { name: 'change nullability and defaults', from: [T], to: { t: "CREATE TABLE t (id INT NOT NULL, a VARCHAR(20) NOT NULL DEFAULT 'x', b INT NULL DEFAULT 5, PRIMARY KEY (id))" } },
  { name: 'ON UPDATE and fractional timestamps',
    from: ['CREATE TABLE t (id INT PRIMARY KEY, ts TIMESTAMP NULL)'],
    to: { t: 'CREATE TABLE t (id INT PRIMARY KEY, ts TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3))' } },
  { name: 'column charset, collation and comment', from: [T],
    to: { t: "CREATE TABLE t (id INT NOT NULL, a VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_bin NULL COMMENT 'the a, quoted '' here', b INT NULL, PRIMARY KEY (id))" } },
  { name: 'generated columns added and changed',
    from: ['CREATE TABLE t (id INT PRIMARY KEY, p INT, q INT AS (p * 2) VIRTUAL)'],
    to: { t: 'CREATE TABLE t (id INT PRIMARY KEY, p INT, q INT AS (p * 3) VIRTUAL, r INT AS (p + 1) STORED)' } },
  { name: 'AUTO_INCREMENT added', from: [T], to: { t: 'CREATE TABLE t (id INT NOT NULL AUTO_INCREMENT, a VARCHAR(20) NULL, b INT NULL, PRIMARY KEY (id))' } },
  { name: 'move the last column first', from: [T], to: { t: 'CREATE TABLE t (b INT NULL, id INT NOT NULL, a VARCHAR(20) NULL, PRIMARY KEY (id))' } },
  { name: 'swap two columns', from: [T], to: { t: 'CREATE TABLE t (id INT NOT NULL, b INT NULL, a VARCHAR(20) NULL, PRIMARY KEY (id))' } },
  { name: 'reverse every column', from: ['CREATE TABLE t (a INT, b INT, c INT, d INT, e INT PRIMARY KEY)'],
    to: { t: 'CREATE TABLE t (e INT PRIMARY KEY, d INT, c INT, b INT, a INT)' } },
  { name: 'rename a column by hint, keeping its index',
    from: ['CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(100), KEY k_email (email))'],
    to: { t: 'CREATE TABLE t (\n  id INT PRIMARY KEY,\n  mail VARCHAR(100), -- schemabot:renamed-from email\n  KEY k_email (mail)\n)' },
    statements: ['ALTER TABLE `t` CHANGE COLUMN `email` `mail` varchar(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci DEFAULT NULL'], algorithm: 'INSTANT' },
  { name: 'a drop and an add are never guessed as a rename',
    from: ['CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(100))'],
    to: { t: 'CREATE TABLE t (id INT PRIMARY KEY, mail VARCHAR(100))' },
    statements: ['ALTER TABLE `t` DROP COLUMN `email`, ADD COLUMN `mail` varchar(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci DEFAULT NULL AFTER `id`'] },
  { name: 'indexes added, dropped and changed',
    from: ['CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, c VARCHAR(50), KEY k1 (a), KEY k2 (b), KEY k3 (c))'],
    to: { t: 'CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT, c VARCHAR(50), KEY k1 (a, b), KEY k3 (c(10)), UNIQUE KEY u (b, c), KEY k4 (c) COMMENT \'lookup\')' } },
  { name: 'fulltext and spatial indexes',
    from: ['CREATE TABLE t (id INT PRIMARY KEY, body TEXT, g POINT NOT NULL)'],
    to: { t: 'CREATE TABLE t (id INT PRIMARY KEY, body TEXT, g POINT NOT NULL, FULLTEXT KEY ft (body), SPATIAL KEY sp (g))' } },
  { name: 'index on a virtual column',
    from: ['CREATE TABLE t (id INT PRIMARY KEY, doc JSON)'],
    to: { t: "CREATE TABLE t (id INT PRIMARY KEY, doc JSON, doc_id INT AS (JSON_VALUE(doc, '$.id')) VIRTUAL, KEY k_doc (doc_id))" } },
  { name: 'primary key replaced',
    from: ['CREATE TABLE t (id INT NOT NULL, code VARCHAR(20) NOT NULL, PRIMARY KEY (id))'],
    to: { t: 'CREATE TABLE t (id INT NOT NULL, code VARCHAR(20) NOT NULL, PRIMARY KEY (code, id))' } },
  { name: 'primary key added',
    from: ['CREATE TABLE t (id INT NOT NULL, v INT)'],
    to: { t: 'CREATE TABLE t (id INT NOT NULL, v INT, PRIMARY KEY (id))' } },
  { name: 'foreign keys added, changed and dropped',
    from: ['CREATE TABLE p (id INT PRIMARY KEY)', 'CREATE TABLE t (id INT PRIMARY KEY, p1 INT, p2 INT, CONSTRAINT fk1 FOREIGN KEY (p1) REFERENCES p (id))'],
    to: {
      p: 'CREATE TABLE p (id INT PRIMARY KEY)',
      t: 'CREATE TABLE t (id INT PRIMARY KEY, p1 INT, p2 INT, CONSTRAINT fk1 FOREIGN KEY (p1) REFERENCES p (id) ON DELETE CASCADE, CONSTRAINT fk2 FOREIGN KEY (p2) REFERENCES p (id))',
    },
    algorithm: 'COPY' },
  { name: 'check constraints',
    from: ['CREATE TABLE t (id INT PRIMARY KEY, n INT, CONSTRAINT c1 CHECK (n > 0), CONSTRAINT c2 CHECK (n < 100))'],
    to: { t: 'CREATE TABLE t (id INT PRIMARY KEY, n INT, CONSTRAINT c1 CHECK (n >= 0), CONSTRAINT c3 CHECK (n <> 7))' } },
  { name: 'table options', from: [T],
    to: { t: "CREATE TABLE t (id INT NOT NULL, a VARCHAR(20) NULL, b INT NULL, PRIMARY KEY (id)) ENGINE=InnoDB ROW_FORMAT=COMPACT COMMENT='users, v2'" } },
  { name: 'table comment removed',
    from: ["CREATE TABLE t (id INT PRIMARY KEY) COMMENT='old'"], to: { t: 'CREATE TABLE t (id INT PRIMARY KEY)' } },
  { name: 'default charset and a column conversion',
    from: ['CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(30)) DEFAULT CHARSET=latin1'],
    to: { t: 'CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(30)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci' } },
  { name: 'engine change', from: ['CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB'], to: { t: 'CREATE TABLE t (id INT PRIMARY KEY) ENGINE=Aria' } },
  { name: 'partitioning added',
    from: ['CREATE TABLE t (id INT NOT NULL, v INT, PRIMARY KEY (id))'],
    to: { t: 'CREATE TABLE t (id INT NOT NULL, v INT, PRIMARY KEY (id)) PARTITION BY HASH (id) PARTITIONS 4' } },
  { name: 'partitioning changed and a column added',
    from: ['CREATE TABLE t (id INT NOT NULL, v INT, PRIMARY KEY (id)) PARTITION BY HASH (id) PARTITIONS 4'],
    to: { t: 'CREATE TABLE t (id INT NOT NULL, v INT, w INT, PRIMARY KEY (id)) PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (100), PARTITION pmax VALUES LESS THAN MAXVALUE)' } },
  { name: 'partitioning removed',
    from: ['CREATE TABLE t (id INT NOT NULL, PRIMARY KEY (id)) PARTITION BY HASH (id) PARTITIONS 2'],
    to: { t: 'CREATE TABLE t (id INT NOT NULL, PRIMARY KEY (id))' } },
  { name: 'tables created and dropped',
    from: ['CREATE TABLE old_one (id INT PRIMARY KEY)'],
    to: { fresh: 'CREATE TABLE fresh (id INT PRIMARY KEY, v JSON)' } },
  { name: 'reserved-word and odd identifiers',
    from: ['CREATE TABLE `order` (`select` INT PRIMARY KEY, `from` INT, `we``ird` INT)'],
    to: { order: 'CREATE TABLE `order` (`select` INT PRIMARY KEY, `we``ird` BIGINT, `from` INT, `group` INT, KEY `key` (`group`))' } },
  { name: 'system versioning added',
    from: [T], to: { t: 'CREATE TABLE t (id INT NOT NULL, a VARCHAR(20) NULL, b INT NULL, PRIMARY KEY (id)) WITH SYSTEM VERSIONING' } },
  { name: 'primary key and partitioning change together',
    from: ['CREATE TABLE t (id INT NOT NULL, u INT NOT NULL, PRIMARY KEY (id)) PARTITION BY HASH (id) PARTITIONS 2'],
    to: { t: 'CREATE TABLE t (id INT NOT NULL, u INT NOT NULL, PRIMARY KEY (u)) PARTITION BY HASH (u) PARTITIONS 2' } },
  { name: 'partitioning removed while a unique key is added',
    from: ['CREATE TABLE t (id INT NOT NULL, u INT NOT NULL, PRIMARY KEY (id)) PARTITION BY HASH (id) PARTITIONS 2'],
    to: { t: 'CREATE TABLE t (id INT NOT NULL, u INT NOT NULL, PRIMARY KEY (id), UNIQUE KEY uu (u))' } },
  { name: 'a comment that mentions PARTITION BY',
    from: [T], to: { t: "CREATE TABLE t (id INT NOT NULL, a VARCHAR(20) NULL, b INT NULL, PRIMARY KEY (id)) COMMENT='do not use PARTITION BY here'" } },
  { name: 'options without a DEFAULT value removed',
    from: ['CREATE TABLE t (id INT PRIMARY KEY) MAX_ROWS=1000 STATS_PERSISTENT=1'], to: { t: 'CREATE TABLE t (id INT PRIMARY KEY)' } },
  { name: 'engine-defined options',
    from: [T], to: { t: 'CREATE TABLE t (id INT NOT NULL, a VARCHAR(20) NULL, b INT NULL, PRIMARY KEY (id)) PAGE_COMPRESSED=1' } },
  { name: 'an index made IGNORED',
    from: ['CREATE TABLE t (id INT PRIMARY KEY, a INT, KEY k (a))'], to: { t: 'CREATE TABLE t (id INT PRIMARY KEY, a INT, KEY k (a) IGNORED)' },
    statements: ['ALTER TABLE `t` ALTER INDEX `k` IGNORED'] },
  { name: 'chained rename hints (a → b, b → c)',
    from: ['CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(5))'],
    to: { t: 'CREATE TABLE t (\n  id INT PRIMARY KEY,\n  b INT, -- schemabot:renamed-from a\n  c VARCHAR(5) -- schemabot:renamed-from b\n)' } },
  { name: 'the live schema default collation is inherited',
    from: ['ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci', 'CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20), KEY k (name))'],
    to: { t: 'CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20), n INT, KEY k (name))' },
    statements: ['ALTER TABLE `t` ADD COLUMN `n` int(11) DEFAULT NULL AFTER `name`'] },
  { name: 'a table with an application-time period',
    from: ['CREATE TABLE t (id INT PRIMARY KEY, s DATE NOT NULL, e DATE NOT NULL, PERIOD FOR p (s, e))'],
    to: { t: 'CREATE TABLE t (id INT PRIMARY KEY, s DATE NOT NULL, e DATE NOT NULL, v INT, PERIOD FOR p (s, e))' } },
  { name: 'everything at once',
    from: ["CREATE TABLE t (id INT NOT NULL, a VARCHAR(20), b INT, c TEXT, PRIMARY KEY (id), KEY kb (b)) COMMENT='x'"],
    to: { t: `CREATE TABLE t (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
      c2 TEXT, -- schemabot:renamed-from c
      b INT NOT NULL DEFAULT 0,
      n DECIMAL(10,2) NULL,
      PRIMARY KEY (id),
      UNIQUE KEY ub (b),
      KEY kn (n)
    ) COMMENT='y' ROW_FORMAT=DYNAMIC` } },
];

const TABLE_NAME = /^CREATE TABLE (`(?:[^`]|``)+`|\w+)/;

/** The same case run backwards (the desired tables are live, the live ones desired), when every "from" is a CREATE TABLE. */
function reversed(c: DiffCase): DiffCase | undefined {
  if (!c.from.every((sql) => TABLE_NAME.test(sql))) return undefined;
  const name = (sql: string) => TABLE_NAME.exec(sql)![1].replace(/^`|`$/g, '').replace(/``/g, '`');
  return { name: `${c.name} (backwards)`, from: Object.values(c.to), to: Object.fromEntries(c.from.map((sql) => [name(sql), sql])) };
}

describe('plan: exact diff (apply, then nothing left to do), every case in both directions', () => {
  for (const c of [...cases, ...cases.map(reversed).filter((r) => r !== undefined)]) {
    it(c.name, async () => {
      await withPlanFixture(c.from, c.to, async (fixture) => {
        const plan = await fixture.plan();
        expect(plan.errors).toEqual([]);
        expect(plan.changes.length).toBeGreaterThan(0);
        for (const change of plan.changes) expect(change.error).toBeUndefined();
        // Every ALTER the planner writes is one the engine runs online, or refuses for a stated reason
        // (foreign keys, another engine, system versioning), never as an unknown clause.
        for (const alter of plan.changes.flatMap((ch) => ch.alters ?? [])) {
          const refusal = (() => { try { analyzeAlter(alter); return ''; } catch (err) { return (err as Error).message; } })();
          expect(refusal, alter).not.toMatch(/is not a clause schemabot runs/);
        }
        if (c.statements) expect(plan.changes.flatMap((ch) => ch.statements)).toEqual(c.statements);
        if (c.algorithm) expect(plan.changes[0].algorithm).toBe(c.algorithm);
        await applyPlan(fixture.conn, plan);
        const again = await fixture.plan();
        expect(again.changes.map((ch) => ch.statements)).toEqual([]);
      });
    });
  }
});
