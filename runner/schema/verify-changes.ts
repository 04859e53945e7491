// Every generated ALTER is run against a copy of the live table in a scratch schema before anyone sees
// it: the result must be exactly the desired table. The same run tells which algorithm the server will
// use: INSTANT if it accepts ALGORITHM=INSTANT, INPLACE if it accepts ALGORITHM=INPLACE, LOCK=NONE,
// otherwise a table copy (which schemabot runs as an online migration).
import type { Connection } from 'mysql2/promise';
import { quoteIdent } from '../db/quote.ts';
import { mysqlErrno } from '../db/mysql-errors.ts';
import { showCreateTable } from '../db/table-info.ts';
import type { TableChange } from './diff.ts';
import { schemaDefaultsClause, type SchemaDefaults } from './workspace.ts';
import { comparableCreateTable } from './table-model.ts';

export type Algorithm = 'INSTANT' | 'INPLACE' | 'COPY';

export interface Verification {
  table: string;
  /** The slowest algorithm over the change's statements; undefined for CREATE/DROP TABLE. */
  algorithm?: Algorithm;
  /** Set when the generated DDL failed or did not reproduce the desired table (a generator bug). */
  error?: string;
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

/** `conn` must be dedicated: it switches to the scratch schema. */
export async function verifyChanges(conn: Connection, scratchSchema: string, changes: TableChange[],
  defaults: SchemaDefaults): Promise<Verification[]> {
  await conn.query(`CREATE DATABASE ${quoteIdent(scratchSchema)} ${schemaDefaultsClause(defaults)}`);
  await conn.query(`USE ${quoteIdent(scratchSchema)}`);
  await conn.query('SET SESSION foreign_key_checks = 0');
  const results: Verification[] = [];
  try {
    for (const change of changes) {
      if (change.kind !== 'alter') {
        results.push({ table: change.table });
        continue;
      }
      const result: Verification = { table: change.table };
      if (change.error) {
        results.push({ ...result, error: change.error });
        continue;
      }
      try {
        await conn.query(change.before!.createTable);
        for (const alter of change.alters ?? []) {
          const algorithm = await runWithBestAlgorithm(conn, change.table, alter);
          if (!result.algorithm || RANK[algorithm] > RANK[result.algorithm]) result.algorithm = algorithm;
        }
        // Checks are off in the scratch schema (referenced tables are absent there); with them on, as
        // in production, adding a foreign key copies the table to validate every row.
        if (change.clauses.some((c) => c.kind === 'add-constraint' && /^ADD CONSTRAINT \S+ FOREIGN KEY/.test(c.sql))) result.algorithm = 'COPY';
        const produced = comparableCreateTable(await showCreateTable(conn, change.table));
        if (produced !== comparableCreateTable(change.after!.createTable)) {
          result.error = `the generated DDL produces\n${produced}\ninstead of\n${comparableCreateTable(change.after!.createTable)}`;
        }
      } catch (err) {
        result.error = `the generated DDL fails: ${(err as Error).message}`;
      }
      results.push(result);
    }
  } finally {
    await conn.query(`DROP DATABASE IF EXISTS ${quoteIdent(scratchSchema)}`);
  }
  return results;
}
