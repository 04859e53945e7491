import { MigrationRefused } from './errors.ts';

export interface TableNames {
  schema: string;
  original: string;
  /** Shadow table the rows are copied into: `T__gho`. */
  shadow: string;
  /** Changelog table for heartbeats and stream markers: `T__ghc`. */
  changelog: string;
  /** The original table after cut-over (kept for revert), and the cut-over sentry: `T__old`. */
  old: string;
}

/*
 * Every helper name has T as its prefix, so it sorts after T in the server's metadata-lock order: the
 * cut-over's RENAME always waits on T itself first, and a lock another connection holds on a helper
 * (a backup reading the shadow table) can only make it wait longer while it holds T, never let a
 * writer into T behind its back (see cut-over.ts). Unlike gh-ost's `_T_gho`, the names cannot collide
 * with a gh-ost run's either.
 */

const MAX_IDENTIFIER = 64;

export function tableNames(schema: string, table: string): TableNames {
  const names = { schema, original: table, shadow: `${table}__gho`, changelog: `${table}__ghc`, old: `${table}__old` };
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
