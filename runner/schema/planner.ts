// `schemabot plan`: desired files → workspace → canonical models → exact diff against the live
// database → steps in foreign-key order, verified with foreign_key_checks on → lint findings, backed
// by counts on the live data → impact. Read-only on the live schema; the run's scratch schemas and
// account are dropped afterwards (or reclaimed by the next run if this one is killed).
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import { quoteIdent } from '../db/quote.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { readRepoConfig, type RepoConfig } from './config.ts';
import { addDataEvidence, type DataCheckOptions } from './data-checks.ts';
import { diffSchemas, type TableChange } from './diff.ts';
import { HELPER_TABLE_REGEXP } from './helper-tables.ts';
import { estimateImpact, locksOf, type Impact } from './impact.ts';
import { lint, separateDebt, type Finding, type LintConfig } from './lint.ts';
import { orderChanges, type PlanStep } from './plan-order.ts';
import { PlanRun } from './plan-run.ts';
import { readSchemaDir, type SchemaDir, type SchemaFile, type SchemaFileError } from './schema-files.ts';
import type { TableModel } from './table-model.ts';
import { codeView, mentionedNames } from './untrusted-sql.ts';
import { verifySteps, type Algorithm, type Verification } from './verify-changes.ts';
import { keepOffBinlog, readModels, readSchemaDefaults, Workspace, type SchemaDefaults } from './workspace.ts';
import { createWorkspaceAccount } from './workspace-account.ts';

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
  /**
   * The table as it will be after this change (SHOW CREATE TABLE of the desired file; for a step of a
   * change split into several, the table as that step leaves it); absent for drops.
   */
  definition?: string;
  /** What the change locks while it runs. */
  locks: string;
  /** How the change runs when that is not obvious: steps it was split into, and why. */
  notes?: string[];
}

export interface ChangeSummary {
  table: string;
  kind: TableChange['kind'];
  statements: string[];
}

export interface WorkspaceInfo {
  /** True when pull-request files were loaded by an account whose privileges end at the workspace. */
  isolated: boolean;
  /** True when nothing the plan wrote (scratch DDL, sampled rows) reached the binlog. */
  offBinlog: boolean;
  notes: string[];
}

export interface Plan {
  database: string;
  serverVersion: string;
  changes: PlannedChange[];
  findings: Finding[];
  errors: SchemaFileError[];
  /** Findings that were already true before this change (tables it does not make worse): reported once, never failing. */
  debt?: Finding[];
  workspace?: WorkspaceInfo;
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
  /** Bounds of the row counts behind data findings. */
  dataChecks?: DataCheckOptions;
  /** Time for loading all the schema files into the workspace (default 60 s). */
  loadBudgetMs?: number;
}

async function loadDesired(schema: string, files: SchemaFile[], defaults: SchemaDefaults, open: () => Promise<Connection>,
  budgetMs: number | undefined): Promise<{ models: Map<string, TableModel>; errors: SchemaFileError[] }> {
  const workspace = await Workspace.open(schema, defaults, open);
  try {
    const errors = await workspace.load(files, budgetMs);
    return { models: await workspace.models(), errors };
  } finally {
    await workspace.drop();
  }
}

const summarize = (changes: TableChange[]): ChangeSummary[] => changes.map(({ table, kind, statements }) => ({ table, kind, statements }));

function hintsOf(files: SchemaFile[]): Map<string, Map<string, string>> {
  return new Map(files.map((f) => [f.table, f.renamedFrom]));
}

/** Live tables named like migration helpers: never planned, listed once so nobody wonders. */
async function liveHelperTables(conn: Connection, schema: string): Promise<string[]> {
  const [rows] = await conn.query<RowDataPacket[]>(
    'SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME REGEXP ? ORDER BY TABLE_NAME',
    [schema, HELPER_TABLE_REGEXP]);
  return rows.map((r) => String(r.name)).sort();
}

function planNotices(live: Map<string, TableModel>, desired: Map<string, TableModel>, protectedTables: Map<string, string>, helpers: string[]): Finding[] {
  const notices: Finding[] = [];
  for (const [table, path] of protectedTables) {
    if (live.has(table) && !desired.has(table)) {
      notices.push({ code: 'SB004', rule: 'drop-withheld', severity: 'notice', table, path,
        message: `\`${table}\` is not dropped: ${path} mentions it and could not be used. Fix the file; a table is only dropped when no file stands for it.` });
    }
  }
  if (helpers.length > 0) {
    notices.push({ code: 'SB005', rule: 'helper-tables', severity: 'notice', table: helpers[0],
      message: `Not planned: ${helpers.map((h) => `\`${h}\``).join(', ')} ${helpers.length === 1 ? 'is' : 'are'} named like helper tables of `
        + 'online migrations (kept originals, shadows, dropped tables kept for revert); they are never altered or dropped by a plan.' });
  }
  return notices;
}

/** What every phase of one plan run uses: the live connection (holding the run's lock), how to open workspace connections. */
interface Session {
  live: Connection;
  database: string;
  run: PlanRun;
  serverVersion: string;
  /** Schema files larger than this are refused unread. */
  maxFileBytes: number;
  defaults: SchemaDefaults;
  /** Opens a connection for pull-request SQL: the workspace account's when there is one. */
  open: () => Promise<Connection>;
  workspace: WorkspaceInfo;
  end(): Promise<void>;
}

async function startSession(live: Connection, target: ConnectionTarget): Promise<Session> {
  const { run } = await PlanRun.start(live);
  const offBinlog = await keepOffBinlog(live);
  const [[server]] = await live.query<RowDataPacket[]>('SELECT VERSION() AS v, @@max_allowed_packet AS packet');
  const defaults = await readSchemaDefaults(live, target.database);
  const account = await createWorkspaceAccount(live, target, run.id, [run.schema('ws'), run.schema('base'), run.schema('scratch')], { offBinlog });
  const isolated = !('reason' in account);
  return {
    live, database: target.database, run, serverVersion: String(server.v), maxFileBytes: Number(server.packet) - 1024, defaults,
    open: isolated ? account.connect : () => connect(target),
    workspace: { isolated, offBinlog, notes: isolated ? [] : [account.reason] },
    async end() {
      if (isolated) await account.drop();
      await run.end();
    },
  };
}

/** Tables no DROP may touch: those of unusable files, and every name in a file the server did not load. */
function protectFromDrops(dir: SchemaDir, loadErrors: SchemaFileError[]): Map<string, string> {
  const protectedTables = new Map(dir.protectedTables);
  for (const error of loadErrors) {
    const file = dir.files.find((f) => f.path === error.path)!;
    for (const name of [file.table, ...mentionedNames(codeView(file.sql))]) if (!protectedTables.has(name)) protectedTables.set(name, file.path);
  }
  return protectedTables;
}

/** Runs the steps in a scratch schema (see verify-changes.ts) on a workspace connection. */
async function verify(session: Session, steps: PlanStep[], live: Map<string, TableModel>): Promise<Verification[]> {
  const conn = await session.open();
  try {
    if (!(await keepOffBinlog(conn)) && session.workspace.offBinlog) {
      session.workspace.offBinlog = false;
      session.workspace.notes.push('binary logging cannot be turned off for the workspace: its DDL (tables of the files, no rows) is '
        + 'written to the binlog and replayed by replicas');
    }
    return await verifySteps(conn, session.run.schema('scratch'), steps, live, session.defaults);
  } finally {
    await conn.end();
  }
}

/** Lint of the change, with what was already true before it (the base files, else the live tables) set apart as debt. */
async function judge(session: Session, changes: TableChange[], desired: Map<string, TableModel>, before: Map<string, TableModel>,
  files: Map<string, SchemaFile>, config: LintConfig): Promise<{ findings: Finding[]; debt: Finding[] }> {
  const [stats] = await session.live.query<RowDataPacket[]>(
    'SELECT TABLE_NAME, AUTO_INCREMENT, TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [session.database]);
  const counters = {
    autoIncrement: new Map(stats.filter((s) => s.AUTO_INCREMENT != null).map((s) => [String(s.TABLE_NAME), Number(s.AUTO_INCREMENT)])),
    rows: new Map(stats.map((s) => [String(s.TABLE_NAME), Number(s.TABLE_ROWS ?? 0)])),
  };
  return separateDebt(lint({ changes, desired, files, ...counters }, config),
    lint({ changes: [], desired: before, files, ...counters }, config), config);
}

/** Each verified step with its impact on the live table (copy rates measured once per table, off the binlog only). */
async function plannedChanges(session: Session, steps: PlanStep[], verifications: Verification[], files: Map<string, SchemaFile>,
  live: Map<string, TableModel>): Promise<PlannedChange[]> {
  const { offBinlog } = session.workspace;
  const context = { rateSchema: session.run.schema('rate'), offBinlog, rates: new Map<string, number | undefined>(), live };
  const lastStep = new Map(steps.map((s, i) => [s.table, i]));
  const planned: PlannedChange[] = [];
  if (offBinlog) await session.live.query(`CREATE DATABASE ${quoteIdent(context.rateSchema)}`);
  try {
    for (const [i, step] of steps.entries()) {
      const file = files.get(step.table);
      const verified = verifications[i];
      const impact = await estimateImpact(session.live, session.database, step, verified.algorithm, context);
      planned.push({
        table: step.table, kind: step.kind, statements: step.statements, alters: step.alters,
        path: file?.path, line: file?.statementLine, algorithm: verified.algorithm, error: verified.error,
        definition: step.kind === 'drop' ? undefined : lastStep.get(step.table) === i ? step.after?.createTable : verified.definition,
        impact, locks: locksOf(impact), notes: step.notes,
      });
    }
  } finally {
    if (offBinlog) await session.live.query(`DROP DATABASE IF EXISTS ${quoteIdent(context.rateSchema)}`);
  }
  if (!offBinlog && planned.some((c) => c.impact.rateSource === 'assumed')) {
    session.workspace.notes.push('binary logging cannot be turned off for the plan account (it needs BINLOG ADMIN): no live rows were '
      + 'copied to measure the copy rate (they would reach the binlog and the replicas), so the ETAs use an assumed rate');
  }
  return planned;
}

async function planWith(session: Session, options: PlanOptions, config: RepoConfig): Promise<Plan> {
  const dir = readSchemaDir(options.schemaDir, options.root, { maxFileBytes: session.maxFileBytes });
  const desired = await loadDesired(session.run.schema('ws'), dir.files, session.defaults, session.open, options.loadBudgetMs);
  const protectedTables = protectFromDrops(dir, desired.errors);
  const liveModels = await readModels(session.live, session.database);
  const changes = diffSchemas(liveModels, desired.models, hintsOf(dir.files), protectedTables);
  const steps = orderChanges(changes, liveModels);
  const verifications = await verify(session, steps, liveModels);

  const base = options.baseDir ? readSchemaDir(options.baseDir, options.root, { maxFileBytes: session.maxFileBytes }) : undefined;
  const baseModels = base && (await loadDesired(session.run.schema('base'), base.files, session.defaults, session.open, options.loadBudgetMs)).models;
  for (const table of protectedTables.keys()) baseModels?.delete(table);
  const files = new Map(dir.files.map((f) => [f.table, f]));
  const judged = await judge(session, changes, desired.models, baseModels ?? liveModels, files, config.lint);
  const findings = [...judged.findings, ...planNotices(liveModels, desired.models, protectedTables, await liveHelperTables(session.live, session.database))];
  await addDataEvidence(session.live, session.database, changes, findings, options.dataChecks);

  const plan: Plan = {
    database: session.database, serverVersion: session.serverVersion,
    changes: await plannedChanges(session, steps, verifications, files, liveModels), findings,
    errors: [...dir.errors, ...desired.errors].sort((a, b) => a.path.localeCompare(b.path) || a.line - b.line),
    debt: judged.debt, workspace: session.workspace,
  };
  if (baseModels && base) {
    plan.pullRequest = summarize(diffSchemas(baseModels, desired.models, hintsOf(dir.files)));
    plan.drift = summarize(diffSchemas(liveModels, baseModels, hintsOf(base.files)));
  }
  return plan;
}

export async function planSchema(options: PlanOptions): Promise<Plan> {
  const config = readRepoConfig(options.schemaDir);
  // READ COMMITTED: counting rows and sampling the copy rate must not take locks on live rows.
  const live = await connect(options.target, { readCommitted: true });
  try {
    const session = await startSession(live, options.target);
    try {
      return await planWith(session, options, config);
    } finally {
      await session.end();
    }
  } finally {
    await live.end();
  }
}
