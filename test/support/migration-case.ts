// Runs one online migration under concurrent writes mirrored to a twin table, then applies the same
// ALTER natively to the twin and returns both tables for comparison.
import type { Connection } from 'mysql2/promise';
import type { ConnectionTarget } from '../../runner/db/dsn.ts';
import { quoteIdent, quoteList } from '../../runner/db/quote.ts';
import { WriteLoad } from '../../runner/embedded/write-load.ts';
import { runOnlineMigration, type CutOverGate, type MigrationOptions, type MigrationResult } from '../../runner/engine/online-migration.ts';
import { readTableInfo, type TableInfo } from '../../runner/db/table-info.ts';
import { freshDatabase } from './database.ts';
import { randomValue, seededRandom } from './random-values.ts';
import { definitionOf, tableRows, twinWorkload, type ValueOverrides } from './twin-workload.ts';

export interface MigrationCase {
  name: string;
  /** CREATE TABLE statement with `{t}` in place of the table name. */
  create: string;
  alter: string;
  table?: string;
  keyChanges?: boolean;
  overrides?: ValueOverrides;
  sessionSql?: string;
  rows?: number;
  writesDuringCopy?: number;
  migration?: Partial<MigrationOptions>;
}

export interface CaseOutcome {
  result: MigrationResult;
  migrated: { definition: string; rows: string[] };
  native: { definition: string; rows: string[] };
  writes: number;
}

export function keyColumnsOf(info: TableInfo): string[] {
  const key = info.indexes.find((i) => i.name === 'PRIMARY') ?? info.indexes.find((i) => i.unique);
  return key ? key.columns : info.columns.map((c) => c.name);
}

export async function seedTable(conn: Connection, info: TableInfo, rows: number, overrides: ValueOverrides | undefined): Promise<void> {
  const writable = info.columns.filter((c) => !c.generated);
  const rnd = seededRandom(7);
  for (let done = 0; done < rows; done += 250) {
    const batch = Array.from({ length: Math.min(250, rows - done) }, () =>
      writable.map((c) => (overrides?.[c.name] && !(c.nullable && rnd() < 0.15) ? overrides[c.name](rnd) : randomValue(c, rnd))));
    // Random keys may collide: the seed skips duplicates (the workload counts them as failed writes).
    await conn.query(`INSERT IGNORE INTO ${quoteIdent(info.name)} (${quoteList(writable.map((c) => c.name))}) VALUES ?`, [batch]);
  }
}

/** Releases the cut-over once the writers have done `writes` writes, and stops them. */
function afterWrites(load: WriteLoad, writes: number): CutOverGate {
  return {
    describe: () => `after ${writes} concurrent writes`,
    async wait() {
      const deadline = Date.now() + 60_000;
      while (load.stats.operations < writes) {
        if (Date.now() > deadline) {
          throw new Error(`writers managed only ${load.stats.operations} writes (${load.stats.errors} errors, first: ${load.stats.firstError})`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      await load.stop();
    },
  };
}

export async function runMigrationCase(c: MigrationCase): Promise<CaseOutcome> {
  const { target, conn } = await freshDatabase('matrix');
  const table = c.table ?? 't';
  const twin = `${table}_twin`;
  try {
    await conn.query(c.create.replaceAll('{t}', quoteIdent(table)));
    await conn.query(c.create.replaceAll('{t}', quoteIdent(twin)));
    const info = await readTableInfo(conn, target.database, table);
    await seedTable(conn, info, c.rows ?? 1500, c.overrides);
    const writable = quoteList(info.columns.filter((col) => !col.generated).map((col) => col.name));
    await conn.query(`INSERT INTO ${quoteIdent(twin)} (${writable}) SELECT ${writable} FROM ${quoteIdent(table)}`);

    const load = new WriteLoad(target, 3, twinWorkload({
      table: info, twin, keyColumns: keyColumnsOf(info), keyChanges: c.keyChanges ?? true, overrides: c.overrides,
      seed: 11, sessionSql: c.sessionSql,
    }));
    await load.start();
    let result: MigrationResult;
    try {
      result = await runOnlineMigration({
        target, table, alter: c.alter, chunkSize: 50, postponeCutover: afterWrites(load, c.writesDuringCopy ?? 400),
        ...c.migration,
      });
    } finally {
      await load.stop();
    }
    await conn.query(`ALTER TABLE ${quoteIdent(twin)} ${c.alter}`);
    return {
      result,
      migrated: await snapshotOf(conn, target, table),
      native: await snapshotOf(conn, target, twin),
      writes: load.stats.operations,
    };
  } finally {
    await conn.end();
  }
}

async function snapshotOf(conn: Connection, target: ConnectionTarget, table: string) {
  const info = await readTableInfo(conn, target.database, table);
  return { definition: await definitionOf(conn, table), rows: await tableRows(conn, table, keyColumnsOf(info)) };
}
