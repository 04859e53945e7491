// Never drop by mistake, and converge: a table is what its CREATE TABLE says, any file that cannot be
// used protects every table it mentions, and rename hints left in files after a deploy are not replayed.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../runner/schema/planner.ts';
import { applyPlan, withPlanFixture } from '../support/plan-case.ts';

const dropsOf = (plan: Plan) => plan.changes.filter((c) => c.kind === 'drop').map((c) => c.table);
const LIVE = ['users', 'orders', 'order_items', 'accounts'].map((t) => `CREATE TABLE ${t} (id INT PRIMARY KEY)`);

/** Files that cannot be used, each with the line the error must point at and the tables it must protect. */
const BROKEN: { name: string; file: string; text: string; line: number; protects: string[] }[] = [
  { name: 'a misnamed file', file: 'accounts.sql', text: '-- the accounts\n\nCREATE TABLE users (id INT PRIMARY KEY)', line: 3, protects: ['users', 'accounts'] },
  { name: 'two CREATE TABLEs in one file', file: 'users.sql',
    text: 'CREATE TABLE users (id INT PRIMARY KEY);\n-- and another\nCREATE TABLE orders (id INT PRIMARY KEY);', line: 3, protects: ['users', 'orders'] },
  { name: 'a typo in the statement', file: 'orders.sql', text: '-- orders\nCREATE TABEL orders (id INT PRIMARY KEY)', line: 2, protects: ['orders'] },
  { name: 'a syntax error on a later line', file: 'orders.sql',
    text: '-- orders\nCREATE TABLE orders (\n  id INT PRIMARY KEY,\n  item INT NOTT NULL,\n  CONSTRAINT fk FOREIGN KEY (item) REFERENCES order_items (id)\n)',
    line: 4, protects: ['orders', 'order_items'] },
  { name: 'a server error naming a column', file: 'orders.sql', text: 'CREATE TABLE orders (\n  id INT PRIMARY KEY,\n  id INT\n)',
    line: 3, protects: ['orders'] },
  { name: 'a helper-table name', file: 'users__old.sql', text: 'CREATE TABLE users__old (id INT PRIMARY KEY)', line: 1, protects: ['users__old'] },
  { name: 'a refused SELECT', file: 'order_items.sql', text: 'CREATE TABLE order_items (id INT PRIMARY KEY)\nSELECT id FROM orders', line: 2,
    protects: ['order_items', 'orders'] },
];

describe('plan: never drop by mistake', () => {
  for (const broken of BROKEN) {
    it(`${broken.name}: one error at the offending line, no DROP of any table it mentions`, async () => {
      const others = Object.fromEntries(['users', 'orders', 'order_items', 'accounts']
        .filter((t) => !broken.protects.includes(t) && `${t}.sql` !== broken.file).map((t) => [t, `CREATE TABLE ${t} (id INT PRIMARY KEY)`]));
      await withPlanFixture(LIVE, others, async (fixture) => {
        writeFileSync(join(fixture.dir, broken.file), broken.text);
        const plan = await fixture.plan();
        expect(plan.errors.map((e) => [e.path, e.line])).toEqual([[broken.file, broken.line]]);
        expect(dropsOf(plan)).toEqual([]);
        const withheld = plan.findings.filter((f) => f.code === 'SB004').map((f) => f.table).sort();
        expect(withheld).toEqual(broken.protects.filter((t) => LIVE.some((l) => l.includes(` ${t} `))).sort());
      });
    });
  }

  it('two files defining one table: an error in each, the table neither dropped nor altered', async () => {
    await withPlanFixture(LIVE, { orders: 'CREATE TABLE orders (id INT PRIMARY KEY)', order_items: 'CREATE TABLE order_items (id INT PRIMARY KEY)',
      accounts: 'CREATE TABLE accounts (id INT PRIMARY KEY)' }, async (fixture) => {
      writeFileSync(join(fixture.dir, 'users.sql'), 'CREATE TABLE users (id INT PRIMARY KEY, a INT)');
      writeFileSync(join(fixture.dir, 'people.sql'), '\nCREATE TABLE users (id INT PRIMARY KEY, b INT)');
      const plan = await fixture.plan();
      expect(plan.errors.map((e) => [e.path, e.line])).toEqual([['people.sql', 2], ['users.sql', 1]]);
      expect(plan.errors[1].message).toMatch(/defined by 2 files/);
      expect(plan.changes).toEqual([]);
    });
  });

  it('says which live tables it never plans because they are named like helper tables', async () => {
    await withPlanFixture([...LIVE, 'CREATE TABLE users__old (id INT PRIMARY KEY)', 'CREATE TABLE _orders_gho (id INT PRIMARY KEY)'],
      Object.fromEntries(['users', 'orders', 'order_items', 'accounts'].map((t) => [t, `CREATE TABLE ${t} (id INT PRIMARY KEY)`])), async (fixture) => {
        const plan = await fixture.plan();
        expect(plan.changes).toEqual([]);
        const notice = plan.findings.find((f) => f.code === 'SB005')!;
        expect(notice.severity).toBe('notice');
        expect(notice.message).toContain('`_orders_gho`, `users__old`');
      });
  });
});

describe('plan: rename hints converge', () => {
  const columns = async (fixture: { conn: import('mysql2/promise').Connection }) => {
    const [rows] = await fixture.conn.query<RowDataPacket[]>('SELECT a, b FROM t ORDER BY id');
    return rows.map((r) => [r.a, r.b]);
  };

  it('a swap by hints is refused, with nothing planned for the table, instead of being replayed on every plan', async () => {
    await withPlanFixture(['CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT)', 'INSERT INTO t VALUES (1, 10, 20)'], {
      t: 'CREATE TABLE t (\n  id INT PRIMARY KEY,\n  a INT, -- schemabot:renamed-from b\n  b INT -- schemabot:renamed-from a\n)',
    }, async (fixture) => {
      const plan = await fixture.plan();
      expect(plan.changes).toHaveLength(1);
      expect(plan.changes[0].error).toMatch(/form a cycle/);
      expect(await columns(fixture)).toEqual([[10, 20]]);
    });
  });

  it('hints left in the file after the deploy are not replayed: renames, chains, and a new column under the old name', async () => {
    await withPlanFixture(['CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(5), c INT)', "INSERT INTO t VALUES (1, 10, 'x', 7)"], {
      t: 'CREATE TABLE t (\n  id INT PRIMARY KEY,\n  b INT, -- schemabot:renamed-from a\n  d VARCHAR(5), -- schemabot:renamed-from b\n  e INT -- schemabot:renamed-from c\n)',
    }, async (fixture) => {
      await applyPlan(fixture.conn, await fixture.plan());
      expect((await fixture.plan()).changes).toEqual([]);
      // Later a column is added under an old name, and the hints are still there.
      fixture.writeFiles({ t: 'CREATE TABLE t (\n  id INT PRIMARY KEY,\n  b INT, -- schemabot:renamed-from a\n  d VARCHAR(5), -- schemabot:renamed-from b\n'
        + '  e INT, -- schemabot:renamed-from c\n  c INT\n)' });
      const plan = await fixture.plan();
      expect(plan.changes.flatMap((c) => c.statements)).toEqual(['ALTER TABLE `t` ADD COLUMN `c` int(11) DEFAULT NULL AFTER `e`']);
      await applyPlan(fixture.conn, plan);
      expect((await fixture.plan()).changes).toEqual([]);
      const [rows] = await fixture.conn.query<RowDataPacket[]>('SELECT b, d, e, c FROM t');
      expect(rows.map((r) => [r.b, r.d, r.e, r.c])).toEqual([[10, 'x', 7, null]]);
    });
  });
});
