// Desired-state files: one CREATE TABLE per `schemas/<table>.sql` (Skeema style). Besides the SQL we
// keep what only the text knows: the line of each column and index (for annotations), rename hints
// (`-- schemabot:renamed-from old_name`) and lint suppressions (`-- schemabot:ignore CODE reason`).
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

export interface Suppression {
  codes: string[];
  reason: string;
  line: number;
}

export interface SchemaFile {
  /** Path relative to the repository root (as GitHub shows it). */
  path: string;
  table: string;
  /** The file's text from its first line (comments included). */
  sql: string;
  /** 1-based line of the CREATE TABLE keyword. */
  statementLine: number;
  /** column or index name → 1-based line where it is defined */
  lines: Map<string, number>;
  /** new column name → old column name */
  renamedFrom: Map<string, string>;
  suppressions: Suppression[];
}

export interface SchemaFileError {
  path: string;
  line: number;
  message: string;
}

const NAME = '(`(?:[^`]|``)+`|[A-Za-z0-9_$]+)';

function unquote(name: string): string {
  return name.startsWith('`') ? name.slice(1, -1).replace(/``/g, '`') : name;
}

function stripComments(sql: string): string {
  return sql.replace(/'(?:[^'\\]|\\.|'')*'/g, "''").replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(--\s|#)[^\n]*/g, '');
}

export function parseSchemaFile(path: string, text: string): SchemaFile | SchemaFileError {
  const statements = stripComments(text).split(';').filter((s) => s.trim() !== '');
  if (statements.length !== 1) {
    return { path, line: 1, message: `expected exactly one CREATE TABLE statement, found ${statements.length} statements` };
  }
  const lines = text.split('\n');
  const statementIndex = lines.findIndex((l) => /^\s*CREATE\s+TABLE\b/i.test(stripComments(l)));
  const header = new RegExp(`CREATE\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${NAME}`, 'i').exec(stripComments(text));
  if (statementIndex < 0 || !header) return { path, line: 1, message: 'not a CREATE TABLE statement' };

  const file: SchemaFile = {
    // Untrimmed at the start, so that the server's "at line N" is the file's line N.
    path, table: unquote(header[1]), sql: text.trimEnd().replace(/;$/, ''), statementLine: statementIndex + 1,
    lines: new Map(), renamedFrom: new Map(), suppressions: [],
  };
  let pendingSuppression: Suppression | undefined;
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const code = stripComments(raw).trim();
    const ignore = /--\s*schemabot:ignore\s+([A-Z0-9_,\s]+?)(?:\s+(.*))?$/.exec(raw);
    const suppression = ignore
      ? { codes: ignore[1].split(/[\s,]+/).filter(Boolean), reason: (ignore[2] ?? '').trim(), line: lineNo } : undefined;
    if (suppression) file.suppressions.push(suppression);
    const element = new RegExp(`^(?:(?:PRIMARY\\s+KEY)|(?:UNIQUE\\s+|FULLTEXT\\s+|SPATIAL\\s+)?(?:KEY|INDEX)\\s+${NAME}|CONSTRAINT\\s+${NAME}|${NAME})`, 'i')
      .exec(code);
    if (code && i > statementIndex && element) {
      const name = /^PRIMARY\s+KEY/i.test(code) ? 'PRIMARY' : unquote(element[1] ?? element[2] ?? element[3]);
      if (name === 'PRIMARY' || !/^(UNIQUE|FULLTEXT|SPATIAL|KEY|INDEX|CONSTRAINT|FOREIGN|CHECK|PERIOD)$/i.test(name)) file.lines.set(name, lineNo);
      const rename = new RegExp(`--\\s*schemabot:renamed-from\\s+${NAME}`).exec(raw);
      if (rename) file.renamedFrom.set(name, unquote(rename[1]));
      // A suppression on its own line covers the next definition.
      if (pendingSuppression) {
        pendingSuppression.line = lineNo;
        pendingSuppression = undefined;
      }
    } else if (suppression && !code) {
      pendingSuppression = suppression;
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
