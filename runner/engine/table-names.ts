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

/** The comment that marks an (empty) cut-over sentry table, so that a leftover one can be told apart. */
export const SENTRY_COMMENT = 'schemabot cut-over sentry';
