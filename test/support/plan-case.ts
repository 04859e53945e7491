// Plans desired files against a live database built from "from" statements, applies the plan, and
// plans again: an exact diff leaves nothing to do the second time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import type { ConnectionTarget } from '../../runner/db/dsn.ts';
import { planSchema, type Plan } from '../../runner/schema/planner.ts';
import { freshDatabase } from './database.ts';

export interface PlanFixture {
  target: ConnectionTarget;
  conn: Connection;
  dir: string;
  plan(): Promise<Plan>;
  writeFiles(files: Record<string, string>): void;
  cleanup(): Promise<void>;
}

async function planFixture(from: string[], to: Record<string, string>): Promise<PlanFixture> {
  const { target, conn } = await freshDatabase('plan');
  await conn.query('SET SESSION foreign_key_checks = 0');
  for (const sql of from) await conn.query(sql);
  const dir = mkdtempSync(join(tmpdir(), 'schemabot-schemas-'));
  const fixture: PlanFixture = {
    target, conn, dir,
    plan: () => planSchema({ target, schemaDir: dir, root: dir }),
    writeFiles(files) {
      for (const [table, sql] of Object.entries(files)) writeFileSync(join(dir, `${table}.sql`), `${sql.trim()}\n`);
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
      await conn.end();
    },
  };
  fixture.writeFiles(to);
  return fixture;
}

/** Runs `body` with a fixture and always cleans it up. */
export async function withPlanFixture(from: string[], to: Record<string, string>, body: (fixture: PlanFixture) => Promise<void>): Promise<void> {
  const fixture = await planFixture(from, to);
  try {
    await body(fixture);
  } finally {
    await fixture.cleanup();
  }
}

/** Applies the plan's statements to the live database, in order, with foreign key checks on (as production runs them). */
export async function applyPlan(conn: Connection, plan: Plan): Promise<void> {
  await conn.query('SET SESSION foreign_key_checks = 1');
  for (const change of plan.changes) for (const statement of change.statements) await conn.query(statement);
}
