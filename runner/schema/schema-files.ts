// Desired-state files: one CREATE TABLE per `schemas/<table>.sql` (Skeema style). Besides the SQL we
// keep what only the text knows: the line of each column and index (for annotations), rename hints
// (`-- schemabot:renamed-from old_name`) and lint suppressions (`-- schemabot:ignore CODE reason`).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { IDENT, unquoteIdent } from '../db/quote.ts';
import { isHelperTable } from './helper-tables.ts';
import { codeView, lineAt, mentionedNames, refuseUntrusted } from './untrusted-sql.ts';

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

/** Where each statement of the (code view of the) text starts, ignoring empty ones. */
function statementStarts(code: string): number[] {
  const starts: number[] = [];
  let from = 0;
  for (const part of code.split(';')) {
    const lead = part.search(/\S/);
    if (lead >= 0) starts.push(from + lead);
    from += part.length + 1;
  }
  return starts;
}

export function parseSchemaFile(path: string, text: string): SchemaFile | SchemaFileError {
  const masked = codeView(text);
  const starts = statementStarts(masked);
  if (starts.length === 0) return { path, line: 1, message: 'the file holds no statement: expected one CREATE TABLE' };
  const header = new RegExp(`^\\s*CREATE\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${NAME}(\\s*\\.)?`, 'i').exec(masked);
  if (!header) return { path, line: lineAt(masked, starts[0]), message: 'not a CREATE TABLE statement' };
  if (starts.length > 1) {
    return { path, line: lineAt(masked, starts[1]),
      message: `expected exactly one CREATE TABLE statement, found ${starts.length} statements: one table per file, named after it` };
  }
  const statementLine = lineAt(masked, header.index + header[0].search(/CREATE/i));
  if (header[2]) {
    return { path, line: statementLine, message: 'use an unqualified table name: the schema comes from the target database' };
  }
  const refusal = refuseUntrusted(text, masked, header.index + header[0].length);
  if (refusal) return { path, line: lineAt(masked, refusal.at), message: refusal.message };
  const end = masked.indexOf(';');

  const file: SchemaFile = {
    path, table: unquoteIdent(header[1]), sql: (end >= 0 ? text.slice(0, end) : text).trimEnd(), statementLine,
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
  /**
   * Tables no DROP may touch: every name a rejected, misnamed or ambiguous file mentions (its file
   * name, its CREATE TABLE, any identifier in it), with the path of that file.
   */
  protectedTables: Map<string, string>;
}

export interface ReadOptions {
  /** Files larger than this are refused unread (the server's max_allowed_packet, less some room). */
  maxFileBytes?: number;
}

/** Reads every `*.sql` in `dir`; `root` makes the reported paths repository-relative. */
export function readSchemaDir(dir: string, root = process.cwd(), options: ReadOptions = {}): SchemaDir {
  const result: SchemaDir = { files: [], errors: [], protectedTables: new Map() };
  const protect = (path: string, names: Iterable<string>) => {
    for (const name of names) if (!result.protectedTables.has(name)) result.protectedTables.set(name, path);
  };
  const reject = (error: SchemaFileError, names: Iterable<string>) => {
    result.errors.push(error);
    protect(error.path, names);
  };
  const names = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const byTable = new Map<string, { file: SchemaFile; mentioned: string[] }[]>();
  for (const name of names) {
    const path = relative(root, join(dir, name)) || name;
    const fileTable = basename(name, '.sql');
    const bytes = statSync(join(dir, name)).size;
    if (options.maxFileBytes !== undefined && bytes > options.maxFileBytes) {
      reject({ path, line: 1, message: `the file is ${bytes} bytes, more than the server accepts in one statement `
        + `(max_allowed_packet allows ${options.maxFileBytes}): not loaded` }, [fileTable]);
      continue;
    }
    const text = readFileSync(join(dir, name), 'utf8');
    const parsed = parseSchemaFile(path, text);
    const mentioned = [fileTable, ...mentionedNames(codeView(text))];
    if ('message' in parsed) {
      reject(parsed, mentioned);
      continue;
    }
    if (isHelperTable(parsed.table)) {
      reject({ path, line: parsed.statementLine, message: `\`${parsed.table}\` is named like a helper table of online migrations `
        + '(`T__old`, `T__gho`, `T__ghc`, `_T_gho`, `_T_ghc`, `_T_del`, `T__dropped<N>`), which the planner never diffs: rename it' }, mentioned);
      continue;
    }
    byTable.set(parsed.table, [...byTable.get(parsed.table) ?? [], { file: parsed, mentioned }]);
  }
  for (const [table, found] of byTable) {
    const files = found.map((f) => f.file);
    if (files.length === 1) {
      const [{ file, mentioned }] = found;
      if (basename(file.path, '.sql') === table) result.files.push(file);
      else reject({ path: file.path, line: file.statementLine, message: `file defines table \`${table}\`; name it ${table}.sql` }, mentioned);
      continue;
    }
    for (const file of files) {
      reject({ path: file.path, line: file.statementLine,
        message: `\`${table}\` is defined by ${files.length} files (${files.map((f) => f.path).join(', ')}): keep exactly one` }, [table]);
    }
  }
  result.errors.sort((a, b) => a.path.localeCompare(b.path) || a.line - b.line);
  return result;
}

/** The element (column, index or constraint) a server error names, at its line; else the CREATE TABLE line. */
export function lineOfError(file: SchemaFile, message: string): number {
  const at = /at line (\d+)\s*$/.exec(message);
  if (at) return Number(at[1]);
  for (const [, name] of message.matchAll(/'([^']+)'/g)) {
    const line = file.columnLines.get(name) ?? file.indexLines.get(name);
    if (line) return line;
  }
  return file.statementLine;
}
