// Light analysis of the user's ALTER clauses: column renames, and clauses an online migration cannot run.
import { MigrationRefused } from './errors.ts';

const IDENT = '(`(?:[^`]|``)+`|[A-Za-z0-9_$]+)';

function unquote(ident: string): string {
  return ident.startsWith('`') ? ident.slice(1, -1).replace(/``/g, '`') : ident;
}

/** Blanks out string literals and comments so that keywords inside them are not matched. */
function maskLiterals(sql: string): string {
  return sql.replace(/`(?:[^`]|``)*`/g, (m) => m.replace(/['"#-]/g, '_')).replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|\/\*[\s\S]*?\*\/|(?:--\s|#)[^\n]*/g, (m) => ' '.repeat(m.length));
}

export interface AlterAnalysis {
  /** old column name → new column name */
  renames: Map<string, string>;
}

export function analyzeAlter(alter: string): AlterAnalysis {
  const text = alter.trim().replace(/;\s*$/, '');
  if (!text) throw new MigrationRefused('the ALTER is empty');
  const masked = maskLiterals(text);
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
  const change = new RegExp(`\\bCHANGE\\s+(?:COLUMN\\s+)?(?:IF\\s+EXISTS\\s+)?${IDENT}\\s+${IDENT}`, 'gid');
  const rename = new RegExp(`\\bRENAME\\s+COLUMN\\s+${IDENT}\\s+TO\\s+${IDENT}`, 'gid');
  for (const re of [change, rename]) {
    for (const m of masked.matchAll(re)) {
      // The masked text keeps every offset, so the names are read back from the original text.
      const [fromStart, fromEnd] = m.indices![1];
      const [toStart, toEnd] = m.indices![2];
      const from = unquote(text.slice(fromStart, fromEnd));
      const to = unquote(text.slice(toStart, toEnd));
      if (from !== to) renames.set(from, to);
    }
  }
  return { renames };
}
