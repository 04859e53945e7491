// Every generated statement is run, in plan order, against copies of the live tables in a scratch
// schema before anyone sees it: the result must be exactly the desired table. The same run tells which algorithm the server will
// use: INSTANT if it accepts ALGORITHM=INSTANT, INPLACE if it accepts ALGORITHM=INPLACE, LOCK=NONE,
// otherwise a table copy (which schemabot runs as an online migration).
import type { Connection } from 'mysql2/promise';
import { quoteIdent } from '../db/quote.ts';
import { mysqlErrno } from '../db/mysql-errors.ts';
import { showCreateTable } from '../db/table-info.ts';
import type { PlanStep } from './plan-order.ts';
import { schemaDefaultsClause, type SchemaDefaults } from './workspace.ts';
import { comparableCreateTable, equivalentCreateTable, foreignKeys, type TableModel } from './table-model.ts';

export type Algorithm = 'INSTANT' | 'INPLACE' | 'COPY';

export interface Verification {
  table: string;
  /** The slowest algorithm over the step's statements; undefined for CREATE/DROP TABLE. */
  algorithm?: Algorithm;
  /** Set when the generated DDL failed or did not reproduce the desired table (a generator bug). */
  error?: string;
  /** SHOW CREATE TABLE after the step (absent for drops and failures). */
  definition?: string;
}

/** ER_ALTER_OPERATION_NOT_SUPPORTED(_REASON): the requested algorithm cannot do this ALTER. */
const NOT_SUPPORTED = new Set([1845, 1846]);

const ALGORITHM_OPTION = { INSTANT: 'ALGORITHM=INSTANT', INPLACE: 'ALGORITHM=INPLACE, LOCK=NONE' } as const;

/**
 * The ALTER that the server must run with `algorithm` or refuse (never silently falling back to a
 * blocking table copy).
 */
export function alterWithAlgorithm(table: string, alter: string, algorithm: 'INSTANT' | 'INPLACE'): string {
  const separator = /^(PARTITION BY|REMOVE PARTITIONING)/.test(alter) ? ' ' : ', ';
  return `ALTER TABLE ${quoteIdent(table)} ${ALGORITHM_OPTION[algorithm]}${separator}${alter}`;
}

async function runWithBestAlgorithm(conn: Connection, table: string, alter: string): Promise<Algorithm> {
  for (const algorithm of ['INSTANT', 'INPLACE'] as const) {
    try {
      await conn.query(alterWithAlgorithm(table, alter, algorithm));
      return algorithm;
    } catch (err) {
      if (!NOT_SUPPORTED.has(mysqlErrno(err) ?? 0)) throw err;
    }
  }
  await conn.query(`ALTER TABLE ${quoteIdent(table)} ${alter}`);
  return 'COPY';
}

const RANK: Record<Algorithm, number> = { INSTANT: 0, INPLACE: 1, COPY: 2 };

/** Live tables the steps need in the scratch schema: theirs, and every table linked to them by foreign keys. */
function tablesToCopy(steps: PlanStep[], live: Map<string, TableModel>): TableModel[] {
  const wanted = new Set(steps.map((s) => s.table).filter((t) => live.has(t)));
  const links = (t: TableModel) => foreignKeys(t).filter((k) => k.schema === undefined).map((k) => k.table);
  for (const step of steps) if (step.after) for (const t of links(step.after)) if (live.has(t)) wanted.add(t);
  for (let grew = true; grew;) {
    grew = false;
    for (const [name, model] of live) {
      const linkedHere = links(model).some((t) => wanted.has(t)) || (wanted.has(name) && links(model).some((t) => live.has(t) && !wanted.has(t)));
      if (!linkedHere) continue;
      for (const t of [name, ...links(model).filter((x) => live.has(x))]) {
        if (!wanted.has(t)) {
          wanted.add(t);
          grew = true;
        }
      }
    }
  }
  return [...wanted].map((t) => live.get(t)!);
}

/** An engine change is always a table copy, whatever ALGORITHM the server accepts (MariaDB takes INSTANT and copies). */
const changesEngine = (step: PlanStep) => step.clauses.some((c) => c.kind === 'options' && c.target === 'ENGINE');

/**
 * Runs the steps, in order, against copies of the live tables in a scratch schema with
 * foreign_key_checks on, as production will: a step the server refuses (order, a key in the way) is an
 * error of that step, and each table's last step must leave exactly the desired table. `conn` must be
 * dedicated: it switches to the scratch schema.
 */
export async function verifySteps(conn: Connection, scratchSchema: string, steps: PlanStep[], live: Map<string, TableModel>,
  defaults: SchemaDefaults): Promise<Verification[]> {
  await conn.query(`CREATE DATABASE ${quoteIdent(scratchSchema)} ${schemaDefaultsClause(defaults)}`);
  const results: Verification[] = [];
  try {
    await conn.query(`USE ${quoteIdent(scratchSchema)}`);
    await conn.query('SET SESSION foreign_key_checks = 0');
    for (const model of tablesToCopy(steps, live)) await conn.query(model.createTable);
    await conn.query('SET SESSION foreign_key_checks = 1');
    const failed = new Set<string>();
    const last = new Map(steps.map((s, i) => [s.table, i]));
    const referenced = new Set(steps.flatMap((s) => (s.after ? foreignKeys(s.after).map((k) => k.table) : [])));
    for (const [i, step] of steps.entries()) {
      const result: Verification = { table: step.table };
      results.push(result);
      // A new table outside every foreign key was created as it is in the workspace already.
      if (step.kind === 'create' && foreignKeys(step.after!).length === 0 && !referenced.has(step.table)) continue;
      if (step.error || failed.has(step.table)) {
        result.error = step.error ?? 'not verified: an earlier step of this table failed';
        failed.add(step.table);
        continue;
      }
      try {
        if (step.kind !== 'alter') {
          await conn.query(step.statements[0]);
        } else {
          for (const alter of step.alters ?? []) {
            const algorithm = changesEngine(step) ? 'COPY' : await runWithBestAlgorithm(conn, step.table, alter);
            if (changesEngine(step)) await conn.query(`ALTER TABLE ${quoteIdent(step.table)} ${alter}`);
            if (!result.algorithm || RANK[algorithm] > RANK[result.algorithm]) result.algorithm = algorithm;
          }
        }
        if (step.kind === 'drop') continue;
        result.definition = await showCreateTable(conn, step.table);
        const wanted = equivalentCreateTable(step.after!.createTable);
        if (last.get(step.table) === i && equivalentCreateTable(result.definition) !== wanted) {
          result.error = `the generated DDL produces\n${comparableCreateTable(result.definition)}\ninstead of\n${comparableCreateTable(step.after!.createTable)}`;
        }
      } catch (err) {
        result.error = `the generated DDL fails${step.kind === 'alter' ? '' : ` (${step.kind})`}: ${(err as Error).message}`;
      }
      if (result.error) failed.add(step.table);
    }
  } finally {
    await conn.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratchSchema)}`);
  }
  return results;
}
