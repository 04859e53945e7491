// Desired-state files: one CREATE TABLE per `schemas/<table>.sql` (Skeema style). Besides the SQL we
// keep what only the text knows: the line of each column and index (for annotations), rename hints
// (`-- schemabot:renamed-from old_name`) and lint suppressions (`-- schemabot:ignore CODE reason`).
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { IDENT, unquoteIdent } from '../db/quote.ts';
import { maskSql } from '../db/sql-text.ts';

export interface Suppression {
  codes: string[];
  reason: string;
  line: number;
}

export interface SchemaFile {
  /** Path relative to the repository root (as GitHub shows it). */
  path: string;
  table: string;
  /** The file's text from its first line (comments included), so server line N is file line N. */
  sql: string;
  /** 1-based line of the CREATE TABLE keyword. */
  statementLine: number;
  /** column name → 1-based line where it is defined */
  columnLines: Map<string, number>;
  /** index or constraint name (`PRIMARY` for the primary key) → line */
  indexLines: Map<string, number>;
  /** new column name → old column name */
  renamedFrom: Map<string, string>;
  suppressions: Suppression[];
}

export interface SchemaFileError {
  path: string;
  line: number;
  message: string;
}

const NAME = `(${IDENT})`;

export function parseSchemaFile(path: string, text: string): SchemaFile | SchemaFileError {
  const masked = maskSql(text);
  const statements = masked.split(';').filter((s) => s.trim() !== '');
  if (statements.length !== 1) {
    return { path, line: 1, message: `expected exactly one CREATE TABLE statement, found ${statements.length} statements` };
  }
  const header = new RegExp(`^\\s*CREATE\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${NAME}(\\s*\\.)?`, 'i').exec(masked);
  if (!header) {
    const firstCode = masked.split('\n').findIndex((l) => l.trim() !== '');
    return { path, line: firstCode + 1, message: 'not a CREATE TABLE statement' };
  }
  const statementLine = masked.slice(0, header.index + header[0].search(/CREATE/i)).split('\n').length;
  if (header[2]) {
    return { path, line: statementLine, message: 'use an unqualified table name: the schema comes from the target database' };
  }
  // Schema files come from pull requests: only a plain definition may reach the server, never a query
  // (CREATE … SELECT can read other schemas through an error message) or a copy of another table.
  const afterName = header.index + header[0].length;
  const select = /\bSELECT\b/i.exec(masked.replace(/`(?:[^`]|``)*`/g, (quoted) => ' '.repeat(quoted.length)));
  const at = select ? select.index : /^\s*\(?\s*LIKE\b/i.test(masked.slice(afterName)) ? afterName : -1;
  if (at >= 0) {
    return { path, line: masked.slice(0, at).split('\n').length,
      message: 'only a plain CREATE TABLE definition is allowed (no SELECT, no LIKE another table)' };
  }

  const file: SchemaFile = {
    path, table: unquoteIdent(header[1]), sql: text.trimEnd().replace(/;$/, ''), statementLine,
    columnLines: new Map(), indexLines: new Map(), renamedFrom: new Map(), suppressions: [],
  };
  const rawLines = text.split('\n');
  const maskedLines = masked.split('\n');
  let pending: Suppression | undefined;
  const element = new RegExp(`^(?:(PRIMARY\\s+KEY)|(?:UNIQUE|FULLTEXT|SPATIAL)?\\s*(?:KEY|INDEX)\\s+${NAME}|CONSTRAINT\\s+${NAME}|(PERIOD|FOREIGN|CHECK)\\b|${NAME})`, 'i');
  maskedLines.forEach((code, i) => {
    const raw = rawLines[i];
    const lineNo = i + 1;
    const ignore = /--\s*schemabot:ignore\s+([A-Z0-9_,\s]+?)(?:\s+(.*))?$/.exec(raw);
    const suppression = ignore ? { codes: ignore[1].split(/[\s,]+/).filter(Boolean), reason: (ignore[2] ?? '').trim(), line: lineNo } : undefined;
    if (suppression) file.suppressions.push(suppression);
    const trimmed = code.trim();
    if (!trimmed) {
      // A suppression alone on its line covers the next line with code.
      if (suppression) pending = suppression;
      return;
    }
    if (pending) {
      pending.line = lineNo;
      pending = undefined;
    }
    if (lineNo <= statementLine) return;
    const m = element.exec(trimmed);
    if (!m) return;
    if (m[1]) file.indexLines.set('PRIMARY', lineNo);
    else if (m[2]) file.indexLines.set(unquoteIdent(m[2]), lineNo);
    else if (m[3]) file.indexLines.set(unquoteIdent(m[3]), lineNo);
    else if (m[5] && !/^(UNIQUE|FULLTEXT|SPATIAL|KEY|INDEX|CONSTRAINT)$/i.test(m[5])) {
      const column = unquoteIdent(m[5]);
      file.columnLines.set(column, lineNo);
      const rename = new RegExp(`--\\s*schemabot:renamed-from\\s+${NAME}`).exec(raw);
      if (rename) file.renamedFrom.set(column, unquoteIdent(rename[1]));
    }
  });
  return file;
}

export interface SchemaDir {
  files: SchemaFile[];
  errors: SchemaFileError[];
}

/** Reads every `*.sql` in `dir`; `root` makes the reported paths repository-relative. */
export function readSchemaDir(dir: string, root = process.cwd()): SchemaDir {
  const result: SchemaDir = { files: [], errors: [] };
  const names = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  for (const name of names) {
    const path = relative(root, join(dir, name)) || name;
    const parsed = parseSchemaFile(path, readFileSync(join(dir, name), 'utf8'));
    if ('message' in parsed) {
      result.errors.push(parsed);
      continue;
    }
    if (basename(name, '.sql') !== parsed.table) {
      result.errors.push({ path, line: parsed.statementLine, message: `file defines table \`${parsed.table}\`; name it ${parsed.table}.sql` });
      continue;
    }
    result.files.push(parsed);
  }
  return result;
}

/** The table a file stands for: its name without `.sql` (also when the file does not parse). */
export function tableOfPath(path: string): string {
  return basename(path, '.sql');
}
