// Light analysis of the user's ALTER clauses: column renames, and clauses an online migration cannot run.
import { IDENT as NAME, unquoteIdent } from '../db/quote.ts';
import { maskSql } from '../db/sql-text.ts';
import { MigrationRefused } from './errors.ts';

const IDENT = `(${NAME})`;

export interface AlterAnalysis {
  /** old column name → new column name */
  renames: Map<string, string>;
}

export function analyzeAlter(alter: string): AlterAnalysis {
  const text = alter.trim().replace(/;\s*$/, '');
  if (!text) throw new MigrationRefused('the ALTER is empty');
  const masked = maskSql(text);
  if (/^\s*ALTER\s+TABLE\b/i.test(masked)) {
    throw new MigrationRefused('pass only the ALTER clauses (e.g. "ADD COLUMN c INT"), not "ALTER TABLE <name>"');
  }
  if (/\bRENAME\s+(TO|AS)\b/i.test(masked) || /^\s*RENAME\s+(?!COLUMN\b|INDEX\b|KEY\b)/i.test(masked)) {
    throw new MigrationRefused('renaming the table is not an online migration: use RENAME TABLE directly');
  }
  if (/\b(DISCARD|IMPORT)\s+TABLESPACE\b|\bPARTITION\s+BY\b.*\bREMOVE\s+PARTITIONING\b/i.test(masked)) {
    throw new MigrationRefused('tablespace operations cannot run as an online migration');
  }
  const renames = new Map<string, string>();
  const change = new RegExp(`\\bCHANGE\\s+(?:COLUMN\\s+)?(?:IF\\s+EXISTS\\s+)?${IDENT}\\s+${IDENT}`, 'gi');
  const rename = new RegExp(`\\bRENAME\\s+COLUMN\\s+${IDENT}\\s+TO\\s+${IDENT}`, 'gi');
  for (const re of [change, rename]) {
    for (const m of masked.matchAll(re)) {
      // Masking keeps identifiers as they are.
      const from = unquoteIdent(m[1]);
      const to = unquoteIdent(m[2]);
      if (from !== to) renames.set(from, to);
    }
  }
  return { renames };
}
