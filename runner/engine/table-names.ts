import { MigrationRefused } from './errors.ts';

export interface TableNames {
  schema: string;
  original: string;
  /** Shadow table the rows are copied into: `_T_gho`. */
  shadow: string;
  /** Changelog table for heartbeats and stream markers: `_T_ghc`. */
  changelog: string;
  /**
   * The original table after cut-over (kept for revert), and the cut-over sentry: `T__old`. It must
   * sort after T (T is its prefix), so that the queued RENAME waits on T itself: see cut-over.ts.
   */
  old: string;
}

const MAX_IDENTIFIER = 64;

export function tableNames(schema: string, table: string): TableNames {
  const names = { schema, original: table, shadow: `_${table}_gho`, changelog: `_${table}_ghc`, old: `${table}__old` };
  if (names.shadow.length > MAX_IDENTIFIER) {
    throw new MigrationRefused(`table name \`${table}\` is too long: helper tables like \`${names.shadow}\` exceed 64 characters`);
  }
  return names;
}

/**
 * A swap back (revert): the kept original `T__old` catches up with T and takes its place again. T
 * moves aside to `T__rev` (the sentry name, after T in lock order like `T__old`), and only then, out
 * of the critical section, to `T__old`, where a later swap back finds it.
 */
export function swapBackNames(schema: string, table: string): TableNames {
  const forward = tableNames(schema, table);
  return { ...forward, shadow: forward.old, old: `${table}__rev` };
}

/** The name a dropped table is kept under until its retention ends (at most 64 characters). */
export function droppedTableName(table: string, deployId: number): string {
  return `${table.slice(0, 40)}__dropped${deployId}`;
}

/** The comment that marks an (empty) cut-over sentry table, so that a leftover one can be told apart. */
export const SENTRY_COMMENT = 'schemabot cut-over sentry';
