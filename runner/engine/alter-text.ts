// Light analysis of the user's ALTER clauses: column renames, and a whitelist of the clauses an
// online copy reproduces exactly. Everything else (partition maintenance that touches rows or other
// tables, table renames, system versioning, executable comments…) is refused with the reason, since
// running it on the shadow table would either do nothing to the real data or change another table.
import { IDENT as NAME, unquoteIdent } from '../db/quote.ts';
import { maskSql } from '../db/sql-text.ts';
import { MigrationRefused } from './errors.ts';

const IDENT = `(${NAME})`;

export interface AlterAnalysis {
  /** old column name → new column name */
  renames: Map<string, string>;
}

/** Table options an online copy carries over by creating the shadow table with them. */
const TABLE_OPTIONS = ['AUTO_INCREMENT', 'AVG_ROW_LENGTH', 'CHECKSUM', 'COMMENT', 'DELAY_KEY_WRITE', 'KEY_BLOCK_SIZE', 'MAX_ROWS',
  'MIN_ROWS', 'PACK_KEYS', 'PAGE_CHECKSUM', 'PAGE_COMPRESSED', 'PAGE_COMPRESSION_LEVEL', 'ROW_FORMAT', 'STATS_AUTO_RECALC',
  'STATS_PERSISTENT', 'STATS_SAMPLE_PAGES', 'TRANSACTIONAL', 'ENCRYPTED', 'ENCRYPTION_KEY_ID', 'IETF_QUOTES'];

/** Keywords that, right after ADD or DROP, say the clause is not about a column. */
const NOT_A_COLUMN = 'PARTITION|SYSTEM|PERIOD|INDEX|KEY|UNIQUE|FULLTEXT|SPATIAL|PRIMARY|FOREIGN|CONSTRAINT|CHECK|COLUMN';

const ALLOWED: RegExp[] = [
  new RegExp(`^ADD\\s+(?:COLUMN\\s+)?(?:IF\\s+NOT\\s+EXISTS\\s+)?(?:\\(|(?!(?:${NOT_A_COLUMN})\\b)${NAME})`, 'i'),
  /^ADD\s+COLUMN\b/i,
  new RegExp(`^ADD\\s+(?:CONSTRAINT\\s+(?:${NAME}\\s+)?)?(?:UNIQUE|PRIMARY\\s+KEY|INDEX|KEY|FULLTEXT|SPATIAL|CHECK)\\b`, 'i'),
  new RegExp(`^DROP\\s+(?:COLUMN\\s+)?(?:IF\\s+EXISTS\\s+)?(?!(?:${NOT_A_COLUMN})\\b)${NAME}\\s*$`, 'i'),
  new RegExp(`^DROP\\s+COLUMN\\s+(?:IF\\s+EXISTS\\s+)?${NAME}\\s*$`, 'i'),
  new RegExp(`^DROP\\s+(?:INDEX|KEY|CONSTRAINT|CHECK|FOREIGN\\s+KEY)\\s+(?:IF\\s+EXISTS\\s+)?${NAME}\\s*$`, 'i'),
  /^DROP\s+PRIMARY\s+KEY\s*$/i,
  new RegExp(`^(?:MODIFY|CHANGE)\\s+(?:COLUMN\\s+)?(?:IF\\s+EXISTS\\s+)?${NAME}`, 'i'),
  new RegExp(`^RENAME\\s+(?:COLUMN|INDEX|KEY)\\s+${NAME}\\s+TO\\s+${NAME}\\s*$`, 'i'),
  new RegExp(`^ALTER\\s+(?:COLUMN\\s+)?(?!(?:INDEX|KEY)\\b)${NAME}\\s+(?:SET\\s+DEFAULT\\b|DROP\\s+DEFAULT\\s*$|SET\\s+(?:IN)?VISIBLE\\s*$)`, 'i'),
  new RegExp(`^ALTER\\s+(?:INDEX|KEY)\\s+${NAME}\\s+(?:NOT\\s+)?(?:IGNORED|VISIBLE|INVISIBLE)\\s*$`, 'i'),
  /^CONVERT\s+TO\s+(?:CHARACTER\s+SET|CHARSET)\b/i,
  /^(?:DEFAULT\s+)?(?:CHARACTER\s+SET|CHARSET|COLLATE)\b/i,
  /^ENGINE\s*=?\s*`?InnoDB`?\s*$/i,
  new RegExp(`^(?:${TABLE_OPTIONS.join('|')})\\b`, 'i'),
  /^`(?:[^`]|``)+`\s*=/,
  /^FORCE\s*$/i,
  /^PARTITION\s+BY\b/i,
  /^REMOVE\s+PARTITIONING\s*$/i,
];

/** Clauses refused with a specific reason (checked before the whitelist, for a better message). */
const REFUSED: Array<[RegExp, string]> = [
  [/^RENAME\b(?!\s+(?:COLUMN|INDEX|KEY)\b)/i, 'renaming the table is not an online migration: use RENAME TABLE directly'],
  [/^(?:ADD|DROP|TRUNCATE|COALESCE|REORGANIZE|EXCHANGE|ANALYZE|CHECK|OPTIMIZE|REBUILD|REPAIR|DISCARD|IMPORT)\s+PARTITION\b/i,
    'partition maintenance changes rows or other tables, not the schema: an online copy would not reproduce it; run it natively'],
  [/^(?:ADD|DROP)\s+(?:SYSTEM\s+VERSIONING|PERIOD)\b/i,
    'system versioning keeps history rows that a copy cannot reproduce: run it natively'],
  [/^(?:DISCARD|IMPORT)\s+TABLESPACE\b/i, 'tablespace operations cannot run as an online migration'],
  [/^(?:ALGORITHM|LOCK)\b/i, 'leave ALGORITHM and LOCK out: schemabot always copies online'],
  [/^ENGINE(?!\s*=?\s*`?InnoDB`?\s*$)/i, 'an online copy needs InnoDB (row locks and consistent snapshots): change the engine natively'],
  [/^ADD\s+(?:CONSTRAINT\s+(?:\S+\s+)?)?FOREIGN\s+KEY\b/i, 'foreign keys cannot be migrated online: a table swap would break them'],
];

/** Partitioning follows the last clause after a space, not a comma (`… ADD KEY k (a) PARTITION BY …`). */
const PARTITIONING = /\s(?=(?:PARTITION\s+BY|REMOVE\s+PARTITIONING)\b)/i;

/**
 * The clauses of an ALTER, split at top-level commas of the masked text (strings and comments
 * blanked), with a trailing partitioning clause apart.
 */
function clauses(text: string, masked: string): Array<{ raw: string; masked: string }> {
  const parts: Array<{ raw: string; masked: string }> = [];
  let depth = 0;
  let start = 0;
  const push = (from: number, to: number) => parts.push({ raw: text.slice(from, to).trim(), masked: masked.slice(from, to).trim() });
  for (let i = 0; i <= masked.length; i++) {
    const c = masked[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if ((c === ',' && depth === 0) || i === masked.length) {
      const partitioning = i === masked.length ? PARTITIONING.exec(masked.slice(start, i)) : null;
      if (partitioning && masked.slice(start, start + partitioning.index).trim()) {
        push(start, start + partitioning.index);
        push(start + partitioning.index, i);
      } else {
        push(start, i);
      }
      start = i + 1;
    }
  }
  return parts;
}

function checkClause(clause: { raw: string; masked: string }): void {
  const shown = clause.raw.length > 80 ? `${clause.raw.slice(0, 80)}…` : clause.raw;
  if (!clause.masked) throw new MigrationRefused('the ALTER has an empty clause (a stray comma?)');
  for (const [pattern, reason] of REFUSED) if (pattern.test(clause.masked)) throw new MigrationRefused(`\`${shown}\`: ${reason}`);
  if (!ALLOWED.some((pattern) => pattern.test(clause.masked))) {
    throw new MigrationRefused(`\`${shown}\` is not a clause schemabot runs as an online copy (it runs ADD/DROP/MODIFY/CHANGE/RENAME `
      + 'COLUMN, indexes and checks, defaults, character sets, table options and PARTITION BY)');
  }
}

export function analyzeAlter(alter: string): AlterAnalysis {
  const text = alter.trim().replace(/;\s*$/, '');
  if (!text) throw new MigrationRefused('the ALTER is empty');
  // The server runs what is inside `/*! … */`: DDL must not hide there from this check.
  if (/\/\*[!M]/.test(text)) throw new MigrationRefused('executable comments (/*! … */) are not allowed: write the clause plainly');
  const masked = maskSql(text);
  if (/^\s*ALTER\s+TABLE\b/i.test(masked)) {
    throw new MigrationRefused('pass only the ALTER clauses (e.g. "ADD COLUMN c INT"), not "ALTER TABLE <name>"');
  }
  for (const clause of clauses(text, masked)) checkClause(clause);
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
