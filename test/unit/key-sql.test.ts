import { describe, expect, it } from 'vitest';
import { keyAfter, keyAtMost, keyIn, keyRange } from '../../runner/engine/key-sql.ts';
import { parseDsn, redactDsn } from '../../runner/db/dsn.ts';

describe('key predicates', () => {
  it('expands composite comparisons into OR-of-ANDs', () => {
    expect(keyAfter(['a', 'b'], [1, 2])).toEqual({ sql: '(`a` > ? OR (`a` = ? AND `b` > ?))', params: [1, 1, 2] });
    expect(keyAtMost(['a', 'b'], [1, 2])).toEqual({ sql: '(`a` < ? OR (`a` = ? AND `b` <= ?))', params: [1, 1, 2] });
    expect(keyAtMost(['id'], [9])).toEqual({ sql: '`id` <= ?', params: [9] });
  });

  it('builds ranges and key lists', () => {
    expect(keyRange(['id'], undefined, [10]).sql).toBe('`id` <= ?');
    expect(keyRange(['id'], [5], [10])).toEqual({ sql: '`id` > ? AND `id` <= ?', params: [5, 10] });
    expect(keyIn(['id'], [[1], [2]])).toEqual({ sql: '`id` IN (?, ?)', params: [1, 2] });
    expect(keyIn(['a', 'b'], [[1, 'x'], [2, 'y']])).toEqual({
      sql: '((`a` = ? AND `b` = ?) OR (`a` = ? AND `b` = ?))', params: [1, 'x', 2, 'y'],
    });
  });
});

describe('DSN', () => {
  it('parses user, password, host, port and database', () => {
    expect(parseDsn('mysql://app:s%40cret@db.local:3307/shop')).toMatchObject({
      user: 'app', password: 's@cret', host: 'db.local', port: 3307, database: 'shop',
    });
  });

  it('explains what is wrong', () => {
    expect(() => parseDsn('mysql://root@localhost')).toThrow(/names no database/);
    expect(() => parseDsn('nonsense')).toThrow(/expected mysql:\/\/user:pass@host:port\/database/);
    expect(redactDsn('mysql://app:secret@h/db')).toBe('mysql://app:***@h/db');
  });

  it('never repeats a password, however it is spelled', () => {
    for (const password of ['Top/Se#cr@t', 'a@b@c', 'x/y', 'p#q', 'only:colons:']) {
      const dsn = `mysql://root:${password}@127.0.0.1:3306/db`;
      expect(redactDsn(dsn)).toBe('mysql://root:***@127.0.0.1:3306/db');
      const message = (() => { try { parseDsn(dsn); return ''; } catch (err) { return (err as Error).message; } })();
      expect(message).not.toContain(password);
    }
  });
});
