// `schemabot plan`: desired files → workspace → canonical models → exact diff against the live
// database → verified DDL with the server's algorithm → lint findings → impact. Read-only on the live
// schema; the workspace and scratch schemas are dropped afterwards.
import { randomBytes } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { readRepoConfig } from './config.ts';
import { diffSchemas, type TableChange } from './diff.ts';
import { estimateImpact, type Impact } from './impact.ts';
import { lint, type Finding } from './lint.ts';
import { readSchemaDir, tableOfPath, type SchemaFile, type SchemaFileError } from './schema-files.ts';
import type { TableModel } from './table-model.ts';
import { verifyChanges, type Algorithm } from './verify-changes.ts';
import { keepOffBinlog, readModels, readSchemaDefaults, Workspace, type SchemaDefaults } from './workspace.ts';

export interface PlannedChange {
  table: string;
  kind: TableChange['kind'];
  statements: string[];
  /** For ALTERs: the clauses of each statement, as `schemabot migrate --alter` takes them. */
  alters?: string[];
  path?: string;
  line?: number;
  algorithm?: Algorithm;
  impact: Impact;
  /** No correct DDL could be generated, or it failed verification: never run it. */
  error?: string;
  /** The table as it will be (SHOW CREATE TABLE of the desired file); absent for drops. */
  definition?: string;
}

export interface ChangeSummary {
  table: string;
  kind: TableChange['kind'];
  statements: string[];
}

export interface Plan {
  database: string;
  serverVersion: string;
  changes: PlannedChange[];
  findings: Finding[];
  errors: SchemaFileError[];
  /** With a base directory: what the pull request itself changes (base files → head files). */
  pullRequest?: ChangeSummary[];
  /** With a base directory: how the live database differs from the base files. */
  drift?: ChangeSummary[];
}

export interface PlanOptions {
  target: ConnectionTarget;
  schemaDir: string;
  baseDir?: string;
  /** Paths in findings are relative to this (the repository root). */
  root?: string;
}

async function loadDesired(conn: Connection, files: SchemaFile[], defaults: SchemaDefaults): Promise<{ models: Map<string, TableModel>; errors: SchemaFileError[] }> {
  const workspace = new Workspace(conn, defaults);
  await workspace.create();
  try {
    const errors = await workspace.load(files);
    return { models: await readModels(conn, workspace.schema), errors };
  } finally {
    await workspace.drop();
  }
}

const summarize = (changes: TableChange[]): ChangeSummary[] => changes.map(({ table, kind, statements }) => ({ table, kind, statements }));

function hintsOf(files: SchemaFile[]): Map<string, Map<string, string>> {
  return new Map(files.map((f) => [f.table, f.renamedFrom]));
}

export async function planSchema(options: PlanOptions): Promise<Plan> {
  const config = readRepoConfig(options.schemaDir);
  const dir = readSchemaDir(options.schemaDir, options.root);
  // READ COMMITTED: sampling the copy rate must not take locks on live rows.
  const live = await connect(options.target, { readCommitted: true });
  const scratch = await connect(options.target);
  const scratchName = (kind: string) => `_schemabot_${kind}_${randomBytes(4).toString('hex')}`;
  try {
    await keepOffBinlog(scratch);
    await keepOffBinlog(live);
    const defaults = await readSchemaDefaults(live, options.target.database);
    const desired = await loadDesired(scratch, dir.files, defaults);
    const errors = [...dir.errors, ...desired.errors];
    const liveModels = await readModels(live, options.target.database);
    // A table whose file does not parse or load is left out entirely: never plan a DROP for a typo.
    const broken = new Set(errors.map((e) => tableOfPath(e.path)));
    for (const table of broken) liveModels.delete(table);

    const changes = diffSchemas(liveModels, desired.models, hintsOf(dir.files));
    const verifications = await verifyChanges(scratch, scratchName('scratch'), changes, defaults);
    const files = new Map(dir.files.map((f) => [f.table, f]));
    const [stats] = await live.query<RowDataPacket[]>(
      'SELECT TABLE_NAME, AUTO_INCREMENT, TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [options.target.database]);
    const findings = lint({
      changes, desired: desired.models, files,
      autoIncrement: new Map(stats.filter((s) => s.AUTO_INCREMENT != null).map((s) => [s.TABLE_NAME, Number(s.AUTO_INCREMENT)])),
      rows: new Map(stats.map((s) => [s.TABLE_NAME, Number(s.TABLE_ROWS ?? 0)])),
    }, config.lint);

    const impactSchema = scratchName('rate');
    await scratch.query(`CREATE DATABASE \`${impactSchema}\``);
    const planned: PlannedChange[] = [];
    try {
      for (const [i, change] of changes.entries()) {
        const file = files.get(change.table);
        planned.push({
          table: change.table, kind: change.kind, statements: change.statements, alters: change.alters,
          path: file?.path, line: file?.statementLine,
          algorithm: verifications[i].algorithm, error: verifications[i].error, definition: change.after?.createTable,
          impact: await estimateImpact(live, options.target.database, impactSchema, change, verifications[i].algorithm),
        });
      }
    } finally {
      await scratch.query(`DROP DATABASE IF EXISTS \`${impactSchema}\``);
    }

    const plan: Plan = {
      database: options.target.database,
      serverVersion: String((await live.query<RowDataPacket[]>('SELECT VERSION() AS v'))[0][0].v),
      changes: planned, findings, errors,
    };
    if (options.baseDir) {
      const baseDir = readSchemaDir(options.baseDir, options.root);
      const base = await loadDesired(scratch, baseDir.files, defaults);
      for (const table of broken) base.models.delete(table);
      plan.pullRequest = summarize(diffSchemas(base.models, desired.models, hintsOf(dir.files)));
      plan.drift = summarize(diffSchemas(liveModels, base.models, hintsOf(baseDir.files)));
    }
    return plan;
  } finally {
    await live.end();
    await scratch.end();
  }
}
