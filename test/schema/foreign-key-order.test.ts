// Plans run in dependency order with foreign_key_checks on: published schemas created from nothing
// (employees, sakila's store ↔ staff cycle), drops referencing-first, renamed referenced columns, and
// the changes the server refuses in one step decomposed (FK-linked type changes, VIRTUAL ↔ STORED).
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../runner/schema/planner.ts';
import { applyPlan, withPlanFixture } from '../support/plan-case.ts';
import { EMPLOYEES, SAKILA } from '../support/sample-schemas.ts';

const order = (plan: Plan) => plan.changes.map((c) => `${c.kind} ${c.table}`);

/** Applies the plan with foreign_key_checks=1 and checks that planning again finds nothing to do. */
async function applyAndConverge(fixture: Parameters<Parameters<typeof withPlanFixture>[2]>[0], plan: Plan): Promise<void> {
  expect(plan.errors).toEqual([]);
  for (const change of plan.changes) expect(change.error, change.table).toBeUndefined();
  await applyPlan(fixture.conn, plan);
  const again = await fixture.plan();
  expect(again.changes.map((c) => c.statements)).toEqual([]);
}

describe('plan: foreign keys, in an order the server accepts', () => {
  it('creates the employees sample from nothing: referenced tables first', async () => {
    await withPlanFixture([], EMPLOYEES, async (fixture) => {
      const plan = await fixture.plan();
      const at = (t: string) => order(plan).indexOf(`create ${t}`);
      for (const child of ['dept_emp', 'dept_manager', 'titles', 'salaries']) expect(at(child)).toBeGreaterThan(at('employees'));
      expect(at('dept_emp')).toBeGreaterThan(at('departments'));
      await applyAndConverge(fixture, plan);
    });
  });

  it('creates sakila from nothing: the store ↔ staff cycle is broken by adding one key in a later ALTER', async () => {
    await withPlanFixture([], SAKILA, async (fixture) => {
      const plan = await fixture.plan();
      expect(order(plan)).toEqual(['create country', 'create city', 'create address', 'create staff', 'create store',
        'create customer', 'alter staff']);
      const later = plan.changes.at(-1)!;
      expect(later.statements).toEqual([expect.stringMatching(/^ALTER TABLE `staff` ADD CONSTRAINT `fk_staff_store` FOREIGN KEY/)]);
      expect(later.notes!.join(' ')).toMatch(/`staff` and `store` reference each other/);
      expect(plan.changes[3].statements[0]).not.toContain('fk_staff_store');
      await applyAndConverge(fixture, plan);
    });
  });

  it('drops referencing tables first, and drops a key before the index it needs', async () => {
    await withPlanFixture([EMPLOYEES.employees, EMPLOYEES.departments, EMPLOYEES.dept_emp, EMPLOYEES.titles,
      'CREATE TABLE codes (id INT PRIMARY KEY, code INT NOT NULL, UNIQUE KEY uk_code (code))',
      'CREATE TABLE uses (id INT PRIMARY KEY, code INT, CONSTRAINT fk_code FOREIGN KEY (code) REFERENCES codes (code))'], {
      departments: EMPLOYEES.departments,
      codes: 'CREATE TABLE codes (id INT PRIMARY KEY, code INT NOT NULL)',
      uses: 'CREATE TABLE uses (id INT PRIMARY KEY, code INT, KEY fk_code (code))',
    }, async (fixture) => {
      const plan = await fixture.plan();
      expect(order(plan)).toEqual(['alter uses', 'alter codes', 'drop dept_emp', 'drop titles', 'drop employees']);
      await applyAndConverge(fixture, plan);
    });
  });

  it('renames a referenced column: the referencing table needs no change of its own', async () => {
    await withPlanFixture(['CREATE TABLE parent (id INT PRIMARY KEY)',
      'CREATE TABLE child (id INT PRIMARY KEY, pid INT, CONSTRAINT fk FOREIGN KEY (pid) REFERENCES parent (id))'], {
      parent: 'CREATE TABLE parent (\n  parent_id INT PRIMARY KEY -- schemabot:renamed-from id\n)',
      child: 'CREATE TABLE child (id INT PRIMARY KEY, pid INT, CONSTRAINT fk FOREIGN KEY (pid) REFERENCES parent (parent_id))',
    }, async (fixture) => {
      const plan = await fixture.plan();
      expect(order(plan)).toEqual(['alter parent']);
      await applyAndConverge(fixture, plan);
    });
  });

  it('a type change on both sides of a foreign key: key dropped, columns altered, key added back, each step said', async () => {
    await withPlanFixture(['CREATE TABLE parent (id INT PRIMARY KEY, code VARCHAR(10) NOT NULL, UNIQUE KEY uk (code))',
      'CREATE TABLE child (id INT PRIMARY KEY, pid INT, pcode VARCHAR(10), CONSTRAINT fk FOREIGN KEY (pid) REFERENCES parent (id), '
        + 'CONSTRAINT fk_code FOREIGN KEY (pcode) REFERENCES parent (code))',
      "INSERT INTO parent VALUES (1, 'a'), (2, 'b')", "INSERT INTO child VALUES (10, 1, 'a'), (11, 2, 'b'), (12, NULL, NULL)"], {
      parent: 'CREATE TABLE parent (id BIGINT PRIMARY KEY, code VARCHAR(20) NOT NULL, UNIQUE KEY uk (code))',
      child: 'CREATE TABLE child (id INT PRIMARY KEY, pid BIGINT, pcode VARCHAR(20), note INT, CONSTRAINT fk FOREIGN KEY (pid) REFERENCES parent (id), '
        + 'CONSTRAINT fk_code FOREIGN KEY (pcode) REFERENCES parent (code))',
    }, async (fixture) => {
      const plan = await fixture.plan();
      expect(plan.changes.map((c) => c.statements)).toEqual([
        ['ALTER TABLE `child` DROP FOREIGN KEY `fk`, DROP FOREIGN KEY `fk_code`'],
        [expect.stringMatching(/^ALTER TABLE `child` MODIFY COLUMN `pid` bigint\(20\).*ADD COLUMN `note`/)],
        [expect.stringMatching(/^ALTER TABLE `parent` MODIFY COLUMN `id` bigint\(20\)/)],
        [expect.stringMatching(/^ALTER TABLE `child` ADD CONSTRAINT `fk` FOREIGN KEY .* ADD CONSTRAINT `fk_code`/)],
      ]);
      expect(plan.changes[0].notes!.join(' ')).toMatch(/refuses to change the type of a column linked by a foreign key/);
      expect(plan.changes[3].notes!.join(' ')).toMatch(/checks every row/);
      expect(plan.changes[3].locks).toMatch(/writes are blocked/);
      expect(plan.changes[0].definition).not.toContain('CONSTRAINT');
      await applyAndConverge(fixture, plan);
      const [rows] = await fixture.conn.query<RowDataPacket[]>('SELECT id, pid, pcode FROM child ORDER BY id');
      expect(rows.map((r) => [r.id, r.pid, r.pcode])).toEqual([[10, '1', 'a'], [11, '2', 'b'], [12, null, null]]);
    });
  });

  it('a referenced column renamed and widened, and a table dropped whose last key goes in an ALTER', async () => {
    await withPlanFixture(['CREATE TABLE parent (id INT PRIMARY KEY)', 'CREATE TABLE old_ref (id INT PRIMARY KEY)',
      'CREATE TABLE child (id INT PRIMARY KEY, pid INT, oid INT, CONSTRAINT fk FOREIGN KEY (pid) REFERENCES parent (id), '
        + 'CONSTRAINT fk_old FOREIGN KEY (oid) REFERENCES old_ref (id))',
      'INSERT INTO parent VALUES (1), (2)', 'INSERT INTO old_ref VALUES (5)', 'INSERT INTO child VALUES (1, 1, 5), (2, 2, NULL)'], {
      parent: 'CREATE TABLE parent (\n  parent_id BIGINT PRIMARY KEY -- schemabot:renamed-from id\n)',
      child: 'CREATE TABLE child (id INT PRIMARY KEY, pid BIGINT, oid INT, KEY fk_old (oid), CONSTRAINT fk FOREIGN KEY (pid) REFERENCES parent (parent_id))',
    }, async (fixture) => {
      const plan = await fixture.plan();
      expect(plan.changes.map((c) => c.statements.join('; '))).toEqual([
        'ALTER TABLE `child` DROP FOREIGN KEY `fk`',
        expect.stringMatching(/^ALTER TABLE `child` DROP FOREIGN KEY `fk_old`, MODIFY COLUMN `pid` bigint\(20\)/),
        expect.stringMatching(/^ALTER TABLE `parent` CHANGE COLUMN `id` `parent_id` bigint\(20\) NOT NULL/),
        expect.stringMatching(/^ALTER TABLE `child` ADD CONSTRAINT `fk` FOREIGN KEY \(`pid`\) REFERENCES `parent` \(`parent_id`\)/),
        'DROP TABLE `old_ref`',
      ]);
      await applyAndConverge(fixture, plan);
      const [rows] = await fixture.conn.query<RowDataPacket[]>('SELECT id, pid FROM child ORDER BY id');
      expect(rows.map((r) => [r.id, r.pid])).toEqual([[1, '1'], [2, '2']]);
    });
  });

  it('a generated column switching VIRTUAL ↔ STORED is dropped and added again, keeping its index', async () => {
    await withPlanFixture(['CREATE TABLE t (id INT PRIMARY KEY, p INT, g INT AS (p * 2) VIRTUAL, h INT AS (p + 1) STORED, q INT, KEY kg (g))',
      'INSERT INTO t (id, p) VALUES (1, 5), (2, 7)'], {
      t: 'CREATE TABLE t (id INT PRIMARY KEY, p INT, g INT AS (p * 2) STORED, h INT AS (p + 1) VIRTUAL, q INT, KEY kg (g))',
    }, async (fixture) => {
      const plan = await fixture.plan();
      expect(plan.changes).toHaveLength(1);
      expect(plan.changes[0].statements[0]).toMatch(/DROP COLUMN `g`, ADD COLUMN `g` .* STORED AFTER `p`.*DROP COLUMN `h`, ADD COLUMN `h`/);
      expect(plan.changes[0].notes!.join(' ')).toMatch(/`g` changes from VIRTUAL to STORED/);
      await applyAndConverge(fixture, plan);
      const [rows] = await fixture.conn.query<RowDataPacket[]>('SELECT g, h FROM t ORDER BY id');
      expect(rows.map((r) => [r.g, r.h])).toEqual([[10, 6], [14, 8]]);
    });
  });
});
