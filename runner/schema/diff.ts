// Exact diff of canonical table models and the DDL that turns one into the other. Every identifier is
// backtick-quoted; definitions are the server's own text. Column renames come only from explicit
// hints: a dropped column plus an added one is a drop and an add.
import { quoteIdent } from '../db/quote.ts';
import type { ColumnModel, TableModel } from './table-model.ts';

export type ClauseKind =
  | 'drop-constraint' | 'drop-index' | 'drop-column' | 'rename-column' | 'modify-column' | 'add-column'
  | 'add-index' | 'add-constraint' | 'options' | 'partitions';

export interface AlterClause {
  kind: ClauseKind;
  /** Column, index or constraint name (the new name for renames); the option name for options. */
  target: string;
  sql: string;
  /** For column changes: the definition before and after. */
  before?: string;
  after?: string;
}

export interface TableChange {
  table: string;
  kind: 'create' | 'drop' | 'alter';
  /** Statements to run, in order (partitioning changes need their own ALTER). */
  statements: string[];
  clauses: AlterClause[];
  before?: TableModel;
  after?: TableModel;
}

/** Rewrites references to renamed columns (`old` → `new`) inside a definition. */
function applyRenames(text: string, renames: Map<string, string>): string {
  let out = text;
  for (const [from, to] of renames) out = out.split(quoteIdent(from)).join(quoteIdent(to));
  return out;
}

function position(desired: ColumnModel[], i: number): string {
  return i === 0 ? 'FIRST' : `AFTER ${quoteIdent(desired[i - 1].name)}`;
}

function optionClause(key: string, value: string | undefined): string {
  if (value === undefined) return key === 'COMMENT' ? "COMMENT=''" : `${key}=DEFAULT`;
  return key === 'CHARSET' ? `DEFAULT CHARSET=${value}` : `${key}=${value}`;
}

/**
 * Renames that apply to this pair: a hinted new name absent from the live table whose old name is
 * still there. (Once applied, the hint is simply ignored.)
 */
export function effectiveRenames(live: TableModel, desired: TableModel, hints: Map<string, string>): Map<string, string> {
  const renames = new Map<string, string>();
  for (const [to, from] of hints) {
    const liveHas = (n: string) => live.columns.some((c) => c.name === n);
    if (liveHas(from) && !liveHas(to) && desired.columns.some((c) => c.name === to)) renames.set(from, to);
  }
  return renames;
}

export function diffTable(live: TableModel, desired: TableModel, hints: Map<string, string>): TableChange | undefined {
  const renames = effectiveRenames(live, desired, hints);
  const clauses: AlterClause[] = [];
  const table = quoteIdent(desired.name);

  const liveConstraints = new Map(live.constraints.map((c) => [c.name, applyRenames(c.definition, renames)]));
  const desiredConstraints = new Map(desired.constraints.map((c) => [c.name, c]));
  for (const c of live.constraints) {
    if (desiredConstraints.get(c.name)?.definition === liveConstraints.get(c.name)) continue;
    const sql = c.kind === 'FOREIGN KEY' ? `DROP FOREIGN KEY ${quoteIdent(c.name)}` : `DROP CONSTRAINT ${quoteIdent(c.name)}`;
    clauses.push({ kind: 'drop-constraint', target: c.name, sql });
  }
  const liveIndexes = new Map(live.indexes.map((i) => [i.name, applyRenames(i.definition, renames)]));
  const desiredIndexes = new Map(desired.indexes.map((i) => [i.name, i]));
  for (const index of live.indexes) {
    if (desiredIndexes.get(index.name)?.definition === liveIndexes.get(index.name)) continue;
    const sql = index.kind === 'PRIMARY' ? 'DROP PRIMARY KEY' : `DROP INDEX ${quoteIdent(index.name)}`;
    clauses.push({ kind: 'drop-index', target: index.name, sql });
  }

  const renamedFrom = new Map([...renames].map(([from, to]) => [to, from]));
  const desiredNames = new Set(desired.columns.map((c) => c.name));
  const liveDefinition = new Map(live.columns.map((c) => [renames.get(c.name) ?? c.name, applyRenames(c.definition, renames)]));
  const current: string[] = [];
  for (const column of live.columns) {
    const name = renames.get(column.name) ?? column.name;
    if (desiredNames.has(name)) current.push(name);
    else clauses.push({ kind: 'drop-column', target: column.name, sql: `DROP COLUMN ${quoteIdent(column.name)}`, before: column.definition });
  }
  desired.columns.forEach((column, i) => {
    const expectedAt = i === 0 ? 0 : current.indexOf(desired.columns[i - 1].name) + 1;
    const at = current.indexOf(column.name);
    const moved = at !== expectedAt;
    if (at >= 0) current.splice(at, 1);
    current.splice(i === 0 ? 0 : current.indexOf(desired.columns[i - 1].name) + 1, 0, column.name);
    const pos = moved ? ` ${position(desired.columns, i)}` : '';
    const def = `${quoteIdent(column.name)} ${column.definition}`;
    const old = renamedFrom.get(column.name);
    if (at < 0) {
      clauses.push({ kind: 'add-column', target: column.name, sql: `ADD COLUMN ${def} ${position(desired.columns, i)}`, after: column.definition });
    } else if (old) {
      clauses.push({ kind: 'rename-column', target: column.name, sql: `CHANGE COLUMN ${quoteIdent(old)} ${def}${pos}`,
        before: liveDefinition.get(column.name), after: column.definition });
    } else if (moved || liveDefinition.get(column.name) !== column.definition) {
      clauses.push({ kind: 'modify-column', target: column.name, sql: `MODIFY COLUMN ${def}${pos}`,
        before: liveDefinition.get(column.name), after: column.definition });
    }
  });

  for (const index of desired.indexes) {
    if (liveIndexes.get(index.name) === index.definition) continue;
    clauses.push({ kind: 'add-index', target: index.name, sql: `ADD ${index.definition}` });
  }
  for (const c of desired.constraints) {
    if (liveConstraints.get(c.name) === c.definition) continue;
    clauses.push({ kind: 'add-constraint', target: c.name, sql: `ADD ${c.definition}` });
  }
  for (const key of new Set([...live.options.keys(), ...desired.options.keys()])) {
    if (live.options.get(key) === desired.options.get(key)) continue;
    clauses.push({ kind: 'options', target: key, sql: optionClause(key, desired.options.get(key)) });
  }

  const statements: string[] = [];
  // InnoDB cannot drop and re-add a foreign key of the same name in one ALTER.
  const readded = clauses.filter((c) => c.kind === 'drop-constraint' && clauses.some((a) => a.kind === 'add-constraint' && a.target === c.target)
    && live.constraints.find((x) => x.name === c.target)?.kind === 'FOREIGN KEY');
  if (readded.length > 0) statements.push(`ALTER TABLE ${table} ${readded.map((c) => c.sql).join(', ')}`);
  const regular = clauses.filter((c) => c.kind !== 'partitions' && !readded.includes(c));
  if (regular.length > 0) statements.push(`ALTER TABLE ${table} ${regular.map((c) => c.sql).join(', ')}`);
  if (live.partitions !== desired.partitions) {
    const sql = desired.partitions ?? 'REMOVE PARTITIONING';
    clauses.push({ kind: 'partitions', target: 'PARTITION BY', sql });
    statements.push(`ALTER TABLE ${table} ${sql}`);
  }
  if (statements.length === 0) return undefined;
  return { table: desired.name, kind: 'alter', statements, clauses, before: live, after: desired };
}

/** Live → desired for a whole schema, in a stable order: creates, alters, then drops. */
export function diffSchemas(live: Map<string, TableModel>, desired: Map<string, TableModel>,
  hints: Map<string, Map<string, string>>): TableChange[] {
  const changes: TableChange[] = [];
  for (const [name, model] of desired) {
    const current = live.get(name);
    if (!current) {
      changes.push({ table: name, kind: 'create', statements: [model.createTable], clauses: [], after: model });
      continue;
    }
    const change = diffTable(current, model, hints.get(name) ?? new Map());
    if (change) changes.push(change);
  }
  for (const [name, model] of live) {
    if (!desired.has(name)) {
      changes.push({ table: name, kind: 'drop', statements: [`DROP TABLE ${quoteIdent(name)}`], clauses: [], before: model });
    }
  }
  const order = { create: 0, alter: 1, drop: 2 };
  return changes.sort((a, b) => order[a.kind] - order[b.kind] || a.table.localeCompare(b.table));
}
