// The canonical model of a table, read from the server's own SHOW CREATE TABLE: one definition per
// line, already normalised by the server, so two tables are equal exactly when their texts are.
import { QUOTED_IDENT, unquoteIdent } from '../db/quote.ts';

export interface ColumnModel {
  name: string;
  /** Everything after the quoted name, e.g. `int(11) NOT NULL DEFAULT 0`. */
  definition: string;
}

export type IndexKind = 'PRIMARY' | 'UNIQUE' | 'INDEX' | 'FULLTEXT' | 'SPATIAL';

export interface IndexModel {
  /** `PRIMARY` for the primary key. */
  name: string;
  kind: IndexKind;
  /** The whole line as the server prints it, e.g. ``UNIQUE KEY `uk` (`email`)``. */
  definition: string;
  /** Column names of the key parts. */
  columns: string[];
  /** Key parts as printed, with prefix length and order, e.g. `` `name`(10) ``, `` `a` DESC ``. */
  parts: string[];
}

export interface ConstraintModel {
  name: string;
  kind: 'FOREIGN KEY' | 'CHECK';
  /** The whole line, e.g. ``CONSTRAINT `fk` FOREIGN KEY (`p`) REFERENCES `parent` (`id`)``. */
  definition: string;
}

export interface TableModel {
  name: string;
  columns: ColumnModel[];
  indexes: IndexModel[];
  constraints: ConstraintModel[];
  /** Table options after the closing parenthesis, without AUTO_INCREMENT=n. */
  options: Map<string, string>;
  /** The PARTITION BY … clause, if any. */
  partitions?: string;
  /** Definition lines schemabot does not model (e.g. PERIOD FOR): any difference is reported, never guessed. */
  others: string[];
  /** SHOW CREATE TABLE as read, for display. */
  createTable: string;
}


/** The key parts: the first parenthesised list, read with quotes and nesting in mind. */
function keyParts(text: string): string[] {
  const start = text.indexOf('(');
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    const quoted = /^`(?:[^`]|``)*`|^'(?:[^'\\]|\\.|'')*'/.exec(text.slice(i));
    if (quoted) {
      current += quoted[0];
      i += quoted[0].length - 1;
      continue;
    }
    if (c === '(') depth++;
    if (c === ')' && depth-- === 0) break;
    if (c === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += c;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

function partColumn(part: string): string {
  const m = new RegExp(`^${QUOTED_IDENT}`).exec(part);
  return m ? unquoteIdent(m[0]) : part;
}

/** Splits `ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='a b'` into option → value. */
export function parseTableOptions(text: string): Map<string, string> {
  const options = new Map<string, string>();
  const re = /(`[^`]+`|[A-Z_ ]+?)=('(?:[^'\\]|\\.|'')*'|\S+)/g;
  for (const m of text.matchAll(re)) {
    const key = m[1].trim().replace(/^DEFAULT /, '');
    if (key === 'AUTO_INCREMENT') continue;
    options.set(key, m[2]);
  }
  if (/\bWITH SYSTEM VERSIONING\s*$/.test(text.replace(/'(?:[^'\\]|\\.|'')*'/g, "''"))) options.set('WITH SYSTEM VERSIONING', 'ON');
  return options;
}

export function parseCreateTable(createTable: string): TableModel {
  const lines = createTable.split('\n');
  const header = new RegExp(`^CREATE TABLE (${QUOTED_IDENT}) \\($`).exec(lines[0]);
  if (!header) throw new Error(`unexpected SHOW CREATE TABLE output: ${lines[0]}`);
  const model: TableModel = {
    name: unquoteIdent(header[1]), columns: [], indexes: [], constraints: [], options: new Map(), others: [], createTable,
  };
  let i = 1;
  for (; i < lines.length && !lines[i].startsWith(')'); i++) {
    const line = lines[i].trim().replace(/,$/, '');
    const column = new RegExp(`^(${QUOTED_IDENT}) (.*)$`).exec(line);
    if (column) {
      model.columns.push({ name: unquoteIdent(column[1]), definition: column[2] });
      continue;
    }
    if (line.startsWith('PRIMARY KEY')) {
      const parts = keyParts(line);
      model.indexes.push({ name: 'PRIMARY', kind: 'PRIMARY', definition: line, parts, columns: parts.map(partColumn) });
      continue;
    }
    const index = new RegExp(`^(UNIQUE |FULLTEXT |SPATIAL )?KEY (${QUOTED_IDENT})`).exec(line);
    if (index) {
      const kind = (index[1]?.trim() ?? 'INDEX') as IndexKind;
      const parts = keyParts(line.slice(index[0].length));
      model.indexes.push({ name: unquoteIdent(index[2]), kind, definition: line, parts, columns: parts.map(partColumn) });
      continue;
    }
    const constraint = new RegExp(`^CONSTRAINT (${QUOTED_IDENT}) (FOREIGN KEY|CHECK)`).exec(line);
    if (constraint) {
      model.constraints.push({ name: unquoteIdent(constraint[1]), kind: constraint[2] as ConstraintModel['kind'], definition: line });
      continue;
    }
    model.others.push(line);
  }
  const tail = lines.slice(i).join('\n').replace(/^\)\s*/, '');
  const partitionAt = tail.search(/\n\s*(\/\*!50100 )?PARTITION BY /);
  const optionText = partitionAt >= 0 ? tail.slice(0, partitionAt) : tail;
  model.options = parseTableOptions(optionText);
  if (model.options.get('ENGINE') !== 'Aria') for (const key of ARIA_ONLY) model.options.delete(key);
  model.columns = model.columns.map((c) => ({ ...c, definition: withExplicitCharset(c.definition, model.options) }));
  if (partitionAt >= 0) model.partitions = tail.slice(partitionAt).trim().replace(/^\/\*!50100 /, '').replace(/ \*\/$/, '');
  return model;
}

// SHOW CREATE TABLE always quotes identifiers, hence QUOTED_IDENT throughout.
const TEXT_TYPE = /^(?:char|varchar|tinytext|text|mediumtext|longtext|enum|set)(?:\((?:'(?:[^']|'')*'|[^)'])*\))?/;

/**
 * SHOW CREATE TABLE leaves out a column's character set and collation when they equal the table's
 * defaults, so the same text can mean latin1 in one table and utf8mb4 in another. Spelling them out
 * makes column definitions comparable across tables (and the generated DDL exact).
 */
function withExplicitCharset(definition: string, options: Map<string, string>): string {
  const type = TEXT_TYPE.exec(definition);
  const charset = options.get('CHARSET');
  if (!type || !charset || /CHARACTER SET /.test(definition)) return definition;
  const rest = definition.slice(type[0].length);
  if (/^ COLLATE /.test(rest)) return `${type[0]} CHARACTER SET ${charset}${rest}`;
  const collate = options.get('COLLATE');
  return `${type[0]} CHARACTER SET ${charset}${collate ? ` COLLATE ${collate}` : ''}${rest}`;
}

/**
 * Aria's options, which the server keeps printing after a change to another engine (where they mean
 * nothing) and offers no way to remove: not part of a non-Aria table's schema.
 */
const ARIA_ONLY = ['PAGE_CHECKSUM', 'TRANSACTIONAL'];

/** A table's text for equality checks: AUTO_INCREMENT counters are data, not schema; Aria options only count on Aria. */
export function comparableCreateTable(createTable: string): string {
  const text = createTable.replace(/ AUTO_INCREMENT=\d+/, '').replace(/^CREATE TABLE `(?:[^`]|``)+`/, 'CREATE TABLE `t`');
  if (/\n\) ENGINE=Aria\b/.test(text)) return text;
  return text.replace(/^\) ENGINE=.*$/m, (options) => options.replace(/ (?:PAGE_CHECKSUM|TRANSACTIONAL)=\d+/g, ''));
}

export interface ForeignKey {
  name: string;
  columns: string[];
  /** Set only for a reference to another schema. */
  schema?: string;
  table: string;
  referencedColumns: string[];
  /** The referenced table as printed (`` `t` `` or `` `db`.`t` ``). */
  referencedText: string;
  /** ON DELETE / ON UPDATE, as printed (with its leading space). */
  rest: string;
}

const NAME_LIST = `((?:${QUOTED_IDENT})(?:, ${QUOTED_IDENT})*)`;
const FOREIGN_KEY = new RegExp(`^CONSTRAINT (${QUOTED_IDENT}) FOREIGN KEY \\(${NAME_LIST}\\) REFERENCES ((${QUOTED_IDENT})(?:\\.(${QUOTED_IDENT}))?) \\(${NAME_LIST}\\)(.*)$`);

function nameList(text: string): string[] {
  return [...text.matchAll(new RegExp(QUOTED_IDENT, 'g'))].map((m) => unquoteIdent(m[0]));
}

/** A FOREIGN KEY constraint line as SHOW CREATE TABLE prints it, taken apart. */
export function parseForeignKey(definition: string): ForeignKey | undefined {
  const m = FOREIGN_KEY.exec(definition);
  if (!m) return undefined;
  const qualified = m[5] !== undefined;
  return {
    name: unquoteIdent(m[1]), columns: nameList(m[2]), referencedText: m[3],
    schema: qualified ? unquoteIdent(m[4]) : undefined, table: unquoteIdent(qualified ? m[5] : m[4]),
    referencedColumns: nameList(m[6]), rest: m[7],
  };
}

export function foreignKeys(model: TableModel): ForeignKey[] {
  return model.constraints.flatMap((c) => (c.kind === 'FOREIGN KEY' ? [parseForeignKey(c.definition)].filter((k) => k !== undefined) : []));
}

/**
 * comparableCreateTable with the order of indexes and constraints ignored: the server appends what an
 * ALTER adds (and the implicit index of a foreign key), so only columns, options and the set of keys count.
 */
export function equivalentCreateTable(createTable: string): string {
  const lines = comparableCreateTable(createTable).split('\n').map((l) => l.replace(/,$/, ''));
  const isKey = (l: string) => /^\s+(?:PRIMARY KEY|(?:UNIQUE |FULLTEXT |SPATIAL )?KEY|CONSTRAINT) /.test(l);
  return [...lines.filter((l) => !isKey(l)), ...lines.filter(isKey).sort()].join('\n');
}
