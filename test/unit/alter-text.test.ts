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
});
