// The canonical model of a table, read from the server's own SHOW CREATE TABLE: one definition per
// line, already normalised by the server, so two tables are equal exactly when their texts are.
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
  /** Column names (expressions and prefixes keep their column name). */
  columns: string[];
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
  /** SHOW CREATE TABLE as read, for display. */
  createTable: string;
}

function unquoteIdent(quoted: string): string {
  return quoted.slice(1, -1).replace(/``/g, '`');
}

const IDENT = '`(?:[^`]|``)+`';

function indexColumns(definition: string): string[] {
  const list = definition.slice(definition.indexOf('(') + 1, definition.lastIndexOf(')'));
  return [...list.matchAll(new RegExp(IDENT, 'g'))].map((m) => unquoteIdent(m[0]));
}

/** Splits `ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='a b'` into option → value. */
export function parseTableOptions(text: string): Map<string, string> {
  const options = new Map<string, string>();
  const re = /([A-Z_ ]+?)=('(?:[^'\\]|\\.|'')*'|\S+)/g;
  for (const m of text.matchAll(re)) {
    const key = m[1].trim().replace(/^DEFAULT /, '');
    if (key === 'AUTO_INCREMENT') continue;
    options.set(key, m[2]);
  }
  return options;
}

export function parseCreateTable(createTable: string): TableModel {
  const lines = createTable.split('\n');
  const header = new RegExp(`^CREATE TABLE (${IDENT}) \\($`).exec(lines[0]);
  if (!header) throw new Error(`unexpected SHOW CREATE TABLE output: ${lines[0]}`);
  const model: TableModel = {
    name: unquoteIdent(header[1]), columns: [], indexes: [], constraints: [], options: new Map(), createTable,
  };
  let i = 1;
  for (; i < lines.length && !lines[i].startsWith(')'); i++) {
    const line = lines[i].trim().replace(/,$/, '');
    const column = new RegExp(`^(${IDENT}) (.*)$`).exec(line);
    if (column) {
      model.columns.push({ name: unquoteIdent(column[1]), definition: column[2] });
      continue;
    }
    if (line.startsWith('PRIMARY KEY')) {
      model.indexes.push({ name: 'PRIMARY', kind: 'PRIMARY', definition: line, columns: indexColumns(line) });
      continue;
    }
    const index = new RegExp(`^(UNIQUE |FULLTEXT |SPATIAL )?KEY (${IDENT})`).exec(line);
    if (index) {
      const kind = (index[1]?.trim() ?? 'INDEX') as IndexKind;
      model.indexes.push({ name: unquoteIdent(index[2]), kind, definition: line, columns: indexColumns(line.slice(index[0].length)) });
      continue;
    }
    const constraint = new RegExp(`^CONSTRAINT (${IDENT}) (FOREIGN KEY|CHECK)`).exec(line);
    if (constraint) {
      model.constraints.push({ name: unquoteIdent(constraint[1]), kind: constraint[2] as ConstraintModel['kind'], definition: line });
      continue;
    }
    throw new Error(`unexpected line in SHOW CREATE TABLE ${model.name}: ${line}`);
  }
  const tail = lines.slice(i).join('\n').replace(/^\)\s*/, '');
  const partitionAt = tail.search(/\n?\s*(\/\*!50100 )?PARTITION BY /);
  const optionText = partitionAt >= 0 ? tail.slice(0, partitionAt) : tail;
  model.options = parseTableOptions(optionText);
  model.columns = model.columns.map((c) => ({ ...c, definition: withExplicitCharset(c.definition, model.options) }));
  if (partitionAt >= 0) model.partitions = tail.slice(partitionAt).trim().replace(/^\/\*!50100 /, '').replace(/ \*\/$/, '');
  return model;
}

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

/** A table's text for equality checks: AUTO_INCREMENT counters are data, not schema. */
export function comparableCreateTable(createTable: string): string {
  return createTable.replace(/ AUTO_INCREMENT=\d+/, '').replace(/^CREATE TABLE `(?:[^`]|``)+`/, 'CREATE TABLE `t`');
}
