import { describe, expect, it } from 'vitest';
import { isDdlOn, isStatementWriteOn } from '../../runner/engine/binlog-streamer.ts';

describe('DDL on the migrated table (read from binlog query events)', () => {
  const on = (q: string) => isDdlOn(q, 'db', 'db', 't');

  it('sees every statement that changes the table', () => {
    for (const q of ['ALTER TABLE t ADD COLUMN x INT', 'alter online table `db`.`t` force', 'TRUNCATE t', 'TRUNCATE TABLE `t`',
      'RENAME TABLE a TO b, t TO t2', 'DROP TABLE IF EXISTS a, t', 'CREATE OR REPLACE TABLE t (id INT)', 'CREATE UNIQUE INDEX i ON t (a)',
      'DROP INDEX i ON `t`', 'SET STATEMENT max_statement_time=60 FOR ALTER TABLE t ADD x INT', '/* note */ ALTER TABLE t ENGINE=InnoDB']) {
      expect(on(q), q).toBe(true);
    }
  });

  it('ignores other tables, including its own helpers and names that only appear inside the statement', () => {
    for (const q of ['ALTER TABLE `t__gho` ADD KEY `t` (`t`)', 'ALTER TABLE orders ADD COLUMN t INT', 'CREATE TABLE `t__old` (id INT)',
      'DROP TABLE IF EXISTS `t__gho`, `t__ghc`, `_t_gho`', 'ALTER TABLE other.t ADD x INT', 'INSERT INTO t VALUES (1)', 'ALTER TABLE tt ADD x INT']) {
      expect(on(q), q).toBe(false);
    }
  });
});

describe('writes to the migrated table logged as statements', () => {
  const on = (q: string) => isStatementWriteOn(q, 'db', 'db', 't');

  it('sees INSERT, REPLACE, UPDATE, DELETE and LOAD DATA on the table', () => {
    for (const q of ['INSERT INTO t VALUES (1)', 'insert ignore `t` (a) values (1)', 'REPLACE INTO db.t SELECT * FROM other',
      'UPDATE t SET v = 1 WHERE id = 2', 'UPDATE other o JOIN t ON t.id = o.id SET o.v = 1', 'DELETE FROM `db`.`t` WHERE id = 1',
      "LOAD DATA INFILE 'f' INTO TABLE t"]) {
      expect(on(q), q).toBe(true);
    }
  });

  it('ignores other tables, other schemas and non-writes', () => {
    for (const q of ['INSERT INTO other SELECT * FROM t', 'UPDATE other SET t = 1', 'DELETE FROM x.t WHERE id = 1', 'SELECT * FROM t',
      'BEGIN', 'COMMIT', "INSERT INTO log VALUES ('t')"]) {
      expect(on(q), q).toBe(false);
    }
  });
});
