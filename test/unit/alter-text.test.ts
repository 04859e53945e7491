import { describe, expect, it } from 'vitest';
import { analyzeAlter } from '../../runner/engine/alter-text.ts';
import { MigrationRefused } from '../../runner/engine/errors.ts';

describe('analyzeAlter', () => {
  it('finds renames from CHANGE and RENAME COLUMN, quoted or not', () => {
    const { renames } = analyzeAlter("CHANGE COLUMN a b INT, CHANGE `we``ird` `new name` TEXT, RENAME COLUMN c TO d, CHANGE e e BIGINT");
    expect([...renames]).toEqual([['a', 'b'], ['we`ird', 'new name'], ['c', 'd']]);
  });

  it('ignores keywords inside strings and comments', () => {
    const { renames } = analyzeAlter("ADD COLUMN x INT COMMENT 'change a b', /* rename column c to d */ ADD COLUMN y INT");
    expect(renames.size).toBe(0);
  });

  it('refuses table renames, full statements and empty input', () => {
    expect(() => analyzeAlter('RENAME TO other')).toThrow(MigrationRefused);
    expect(() => analyzeAlter('ADD COLUMN c INT, RENAME AS other')).toThrow(/renaming the table/);
    expect(() => analyzeAlter('ALTER TABLE t ADD COLUMN c INT')).toThrow(/only the ALTER clauses/);
    expect(() => analyzeAlter('  ')).toThrow(/empty/);
  });

  it('allows index renames', () => {
    expect(analyzeAlter('RENAME INDEX a TO b').renames.size).toBe(0);
  });

  it('accepts the clauses an online copy reproduces', () => {
    for (const alter of [
      'ADD COLUMN c INT NOT NULL DEFAULT 0 AFTER b, ADD c2 VARCHAR(10), ADD (d INT, e INT)',
      'ADD COLUMN partition_id INT, DROP key_old, DROP COLUMN `x`',
      "MODIFY v BIGINT, CHANGE a b INT COMMENT 'x, y', RENAME COLUMN c TO d, RENAME INDEX i TO j",
      'ADD UNIQUE KEY uk (a, b), ADD INDEX i (c(10)), ADD FULLTEXT KEY ft (t), ADD CONSTRAINT ck CHECK (a > 0), ADD PRIMARY KEY (id)',
      'DROP INDEX i, DROP KEY `k`, DROP PRIMARY KEY, DROP CONSTRAINT ck, DROP CHECK ck2',
      'ALTER COLUMN a SET DEFAULT 1, ALTER b DROP DEFAULT, ALTER INDEX i IGNORED, ALTER KEY k NOT IGNORED',
      'CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci, DEFAULT CHARSET=utf8mb4',
      "ENGINE=InnoDB, ROW_FORMAT=DYNAMIC, COMMENT='users, v2', `PAGE_COMPRESSED`=1, STATS_PERSISTENT=DEFAULT, FORCE",
      'ADD KEY k (a) PARTITION BY HASH (id) PARTITIONS 4',
      'DROP COLUMN x REMOVE PARTITIONING',
      'PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN MAXVALUE)',
    ]) {
      expect(() => analyzeAlter(alter), alter).not.toThrow();
    }
  });

  it('refuses what is not table-local or that a copy would not reproduce, saying why', () => {
    const cases: Array<[string, RegExp]> = [
      ['EXCHANGE PARTITION p0 WITH TABLE ex', /partition maintenance/],
      ['TRUNCATE PARTITION p0', /partition maintenance/],
      ['DROP PARTITION p0', /partition maintenance/],
      ['ADD PARTITION (PARTITION p9 VALUES LESS THAN (100))', /partition maintenance/],
      ['RENAME s3', /renaming the table/],
      ['ADD COLUMN c INT, RENAME TO other', /renaming the table/],
      ['ADD SYSTEM VERSIONING', /system versioning/],
      ['ADD COLUMN c INT /*!, DROP COLUMN v */', /executable comments/],
      ['ADD COLUMN c INT /*M!100000 , DROP COLUMN v */', /executable comments/],
      ['ENGINE=MyISAM', /needs InnoDB/],
      ['ADD COLUMN c INT, ALGORITHM=INPLACE', /ALGORITHM and LOCK/],
      ['ADD CONSTRAINT fk FOREIGN KEY (p) REFERENCES parent (id)', /foreign keys/],
      ['ORDER BY a', /not a clause schemabot runs/],
      ['DISCARD TABLESPACE', /tablespace/],
      ['ADD COLUMN c INT,', /empty clause/],
    ];
    for (const [alter, message] of cases) expect(() => analyzeAlter(alter), alter).toThrow(message);
  });
});
