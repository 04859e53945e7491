// Exact diff of canonical table models and the DDL that turns one into the other. Every identifier is
// backtick-quoted; definitions are the server's own text. Column renames come only from explicit
// hints: a dropped column plus an added one is a drop and an add.
import { quoteIdent } from '../db/quote.ts';
import { equivalentCreateTable, parseForeignKey, type ColumnModel, type ConstraintModel, type TableModel } from './table-model.ts';

export type ClauseKind =
  | 'drop-constraint' | 'drop-index' | 'drop-column' | 'rename-column' | 'modify-column' | 'add-column'
  | 'add-index' | 'add-constraint' | 'options' | 'partitions' | 'regenerate-column';

export interface AlterClause {
  kind: ClauseKind;
  /** Column, index or constraint name (the new name for renames); the option name for options. */
  target: string;
  sql: string;
  /** For column changes: the definition before and after. */
  before?: string;
  after?: string;
  /** For renames: the live name. */
  from?: string;
}

export interface TableChange {
  table: string;
  kind: 'create' | 'drop' | 'alter';
  /** Statements to run, in order. */
  statements: string[];
  /** For ALTERs: the clauses of each statement, as `schemabot migrate --alter` takes them. */
  alters?: string[];
  clauses: AlterClause[];
  before?: TableModel;
  after?: TableModel;
  /** Set when no correct DDL can be generated (a bad hint, an unmodelled difference): never run. */
  error?: string;
  /** What the reader must know about how the change runs (decomposed steps, recomputed columns). */
  notes?: string[];
  /** For ALTERs: live column name → desired name, for the renames this change makes. */
  renames?: Map<string, string>;
}

/** Rewrites references to renamed columns (`old` → `new`) inside a definition, all at once (chains, swaps). */
function applyRenames(text: string, renames: Map<string, string>): string {
  if (renames.size === 0) return text;
  const pattern = new RegExp([...renames.keys()].map((n) => quoteIdent(n).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  return text.replace(pattern, (quoted) => quoteIdent(renames.get(quoted.slice(1, -1).replace(/``/g, '`'))!));
}

function position(desired: ColumnModel[], i: number): string {
  return i === 0 ? 'FIRST' : `AFTER ${quoteIdent(desired[i - 1].name)}`;
}

/** What removing a table option means, where `=DEFAULT` is not valid syntax. */
const OPTION_RESET: Record<string, string> = {
  COMMENT: "''", MAX_ROWS: '0', MIN_ROWS: '0', KEY_BLOCK_SIZE: '0', AVG_ROW_LENGTH: '0', CHECKSUM: '0', DELAY_KEY_WRITE: '0',
};

function optionClause(key: string, value: string | undefined): string {
  if (key === 'WITH SYSTEM VERSIONING') return value ? 'ADD SYSTEM VERSIONING' : 'DROP SYSTEM VERSIONING';
  if (value === undefined) return `${key}=${OPTION_RESET[key] ?? 'DEFAULT'}`;
  return key === 'CHARSET' ? `DEFAULT CHARSET=${value}` : `${key}=${value}`;
}

/**
 * Renames that apply to this pair, resolved against the live columns. A hint `to ← from` applies when
 * the live table has `from` and `to` is free, or `to` is itself renamed away by a hint that applies
 * (chains: a → b, b → c). A hint whose new name already exists for another reason, or whose old name
 * is gone, is one that was applied by an earlier deploy: it is never replayed. Hints that form a cycle
 * (a swap) look the same before and after they were applied, so they are refused.
 */
export function effectiveRenames(live: TableModel, desired: TableModel, hints: Map<string, string>): { renames: Map<string, string>; errors: string[] } {
  const liveHas = (n: string) => live.columns.some((c) => c.name === n);
  const desiredHas = (n: string) => desired.columns.some((c) => c.name === n);
  const errors: string[] = [];
  // from → to, for hints whose old column is live and whose new one is wanted
  const wanted = new Map<string, string>();
  for (const [to, from] of hints) {
    if (!desiredHas(to) || from === to) continue;
    if (!liveHas(from)) {
      if (!liveHas(to)) errors.push(`\`${to}\` is renamed from \`${from}\`, but the live table has neither`);
      continue;
    }
    wanted.set(from, to);
  }
  const renames = new Map<string, string>();
  const resolving = new Set<string>();
  const applies = (from: string): boolean => {
    if (renames.has(from)) return true;
    const to = wanted.get(from);
    if (to === undefined || resolving.has(from)) return false;
    resolving.add(from);
    const free = !liveHas(to) || applies(to);
    resolving.delete(from);
    if (free) renames.set(from, to);
    return free;
  };
  for (const from of wanted.keys()) applies(from);
  const cycle = [...wanted].filter(([from]) => !renames.has(from) && inCycle(wanted, from));
  if (cycle.length > 0) {
    errors.push(`the renames ${cycle.map(([f, t]) => `\`${f}\` → \`${t}\``).join(', ')} form a cycle, which looks the same before and `
      + 'after it was applied: rename through a temporary name over two pull requests');
  }
  const targets = new Set(renames.values());
  for (const [from, to] of renames) {
    if (desiredHas(from) && !targets.has(from)) {
      errors.push(`\`${to}\` is renamed from \`${from}\`, but \`${from}\` is still in the desired table`);
      renames.delete(from);
    }
  }
  return { renames, errors };
}

function inCycle(edges: Map<string, string>, start: string): boolean {
  let at = edges.get(start);
  for (let hops = 0; at !== undefined && hops <= edges.size; hops++) {
    if (at === start) return true;
    at = edges.get(at);
  }
  return false;
}

const IGNORED = / IGNORED$/;

/**
 * A live constraint as it reads after this change's renames: a foreign key's own columns follow this
 * table's renames, its referenced columns the referenced table's (the server rewrites both when a
 * column is renamed), so a rename on one side is not mistaken for a changed key on the other.
 */
function renameInConstraint(c: ConstraintModel, own: Map<string, string>, referencedRenames: Map<string, Map<string, string>>): string {
  const key = c.kind === 'FOREIGN KEY' ? parseForeignKey(c.definition) : undefined;
  if (!key) return applyRenames(c.definition, own);
  const theirs = key.schema === undefined ? referencedRenames.get(key.table) ?? new Map<string, string>() : new Map<string, string>();
  const rename = (names: string[], map: Map<string, string>) => names.map((n) => quoteIdent(map.get(n) ?? n)).join(', ');
  return `CONSTRAINT ${quoteIdent(c.name)} FOREIGN KEY (${rename(key.columns, own)}) REFERENCES ${key.referencedText} `
    + `(${rename(key.referencedColumns, theirs)})${key.rest}`;
}

/** `x GENERATED ALWAYS AS (…) VIRTUAL` ↔ `STORED`: the server cannot convert a generated column's storage. */
function storageOf(definition: string): string | undefined {
  return /\bGENERATED ALWAYS AS \(.*\) (VIRTUAL|STORED|PERSISTENT)\b/.exec(definition)?.[1];
}

export function diffTable(live: TableModel, desired: TableModel, hints: Map<string, string>,
  referencedRenames: Map<string, Map<string, string>> = new Map()): TableChange | undefined {
  const { renames, errors } = effectiveRenames(live, desired, hints);
  const notes: string[] = [];
  const clauses: AlterClause[] = [];
  const table = quoteIdent(desired.name);

  const liveConstraints = new Map(live.constraints.map((c) => [c.name, renameInConstraint(c, renames, referencedRenames)]));
  const desiredConstraints = new Map(desired.constraints.map((c) => [c.name, c]));
  for (const c of live.constraints) {
    if (desiredConstraints.get(c.name)?.definition === liveConstraints.get(c.name)) continue;
    const sql = c.kind === 'FOREIGN KEY' ? `DROP FOREIGN KEY ${quoteIdent(c.name)}` : `DROP CONSTRAINT ${quoteIdent(c.name)}`;
    clauses.push({ kind: 'drop-constraint', target: c.name, sql });
  }
  const liveIndexes = new Map(live.indexes.map((i) => [i.name, applyRenames(i.definition, renames)]));
  const desiredIndexes = new Map(desired.indexes.map((i) => [i.name, i]));
  // Only the IGNORED flag differs: toggle it (a rebuild would not even carry the flag over).
  const toggled = new Set(live.indexes.filter((i) => {
    const wanted = desiredIndexes.get(i.name)?.definition;
    const current = liveIndexes.get(i.name)!;
    return wanted !== undefined && wanted !== current && wanted.replace(IGNORED, '') === current.replace(IGNORED, '');
  }).map((i) => i.name));
  for (const index of live.indexes) {
    if (toggled.has(index.name)) {
      const ignored = IGNORED.test(desiredIndexes.get(index.name)!.definition);
      clauses.push({ kind: 'add-index', target: index.name, sql: `ALTER INDEX ${quoteIdent(index.name)} ${ignored ? 'IGNORED' : 'NOT IGNORED'}` });
      continue;
    }
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
        before: liveDefinition.get(column.name), after: column.definition, from: old });
    } else if (storageOf(liveDefinition.get(column.name)!) && storageOf(column.definition)
      && storageOf(liveDefinition.get(column.name)!) !== storageOf(column.definition)) {
      clauses.push({ kind: 'regenerate-column', target: column.name,
        sql: `DROP COLUMN ${quoteIdent(column.name)}, ADD COLUMN ${def} ${position(desired.columns, i)}`,
        before: liveDefinition.get(column.name), after: column.definition });
      notes.push(`\`${column.name}\` changes from ${storageOf(liveDefinition.get(column.name)!)} to ${storageOf(column.definition)}: the server `
        + 'cannot convert a generated column in place, so it is dropped and added again in the same ALTER (its values are recomputed)');
    } else if (moved || liveDefinition.get(column.name) !== column.definition) {
      clauses.push({ kind: 'modify-column', target: column.name, sql: `MODIFY COLUMN ${def}${pos}`,
        before: liveDefinition.get(column.name), after: column.definition });
    }
  });

  for (const index of desired.indexes) {
    if (liveIndexes.get(index.name) === index.definition || toggled.has(index.name)) continue;
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

  if (live.partitions !== desired.partitions) {
    clauses.push({ kind: 'partitions', target: 'PARTITION BY', sql: desired.partitions ?? 'REMOVE PARTITIONING' });
  }

  const alters = alterBodies(clauses);
  const statements = alters.map((body) => `ALTER TABLE ${table} ${body}`);

  const unmodelled = live.others.join('\n') !== desired.others.join('\n');
  if (unmodelled) errors.push(`schemabot cannot generate DDL for: ${[...desired.others, ...live.others].join('; ')}`);
  // Index and constraint order is cosmetic (the server appends what an ALTER adds); anything else is not.
  // A key whose referenced column is renamed reads as the server will rewrite it.
  const liveText = live.constraints.reduce((text, c) => text.replace(c.definition, liveConstraints.get(c.name)!), live.createTable);
  if (statements.length === 0 && equivalentCreateTable(liveText) !== equivalentCreateTable(desired.createTable)) {
    errors.push('the live and desired definitions differ in a way schemabot does not model');
  }
  if (statements.length === 0 && errors.length === 0) return undefined;
  return { table: desired.name, kind: 'alter', statements, alters, clauses, before: live, after: desired, error: errors.join('; ') || undefined,
    notes: notes.length ? notes : undefined, renames };
}

/** The ALTER bodies (clauses, as `migrate --alter` takes them) that apply `clauses` in order. */
export function alterBodies(clauses: AlterClause[]): string[] {
  const bodies: string[] = [];
  // InnoDB cannot drop and re-add a foreign key of the same name in one ALTER.
  const readded = clauses.filter((c) => c.kind === 'drop-constraint' && c.sql.startsWith('DROP FOREIGN KEY')
    && clauses.some((a) => a.kind === 'add-constraint' && a.target === c.target));
  if (readded.length > 0) bodies.push(readded.map((c) => c.sql).join(', '));
  // Partitioning goes last, in the same statement (a new key and the partitioning must agree at once).
  const regular = clauses.filter((c) => c.kind !== 'partitions' && !readded.includes(c)).map((c) => c.sql).join(', ');
  const partitioning = clauses.find((c) => c.kind === 'partitions')?.sql;
  if (regular || partitioning) bodies.push([regular, partitioning].filter(Boolean).join(' '));
  return bodies;
}

/**
 * Live → desired for a whole schema, in a stable order: creates, alters, then drops (plan-order.ts
 * then orders them by foreign keys). Tables in `keep` are never dropped.
 */
export function diffSchemas(live: Map<string, TableModel>, desired: Map<string, TableModel>,
  hints: Map<string, Map<string, string>>, keep: ReadonlySet<string> | ReadonlyMap<string, unknown> = new Set()): TableChange[] {
  const changes: TableChange[] = [];
  const renamesOf = new Map<string, Map<string, string>>();
  for (const [name, model] of desired) {
    const current = live.get(name);
    if (current) renamesOf.set(name, effectiveRenames(current, model, hints.get(name) ?? new Map()).renames);
  }
  for (const [name, model] of desired) {
    const current = live.get(name);
    if (!current) {
      changes.push({ table: name, kind: 'create', statements: [model.createTable], clauses: [], after: model });
      continue;
    }
    const change = diffTable(current, model, hints.get(name) ?? new Map(), renamesOf);
    if (change) changes.push(change);
  }
  for (const [name, model] of live) {
    if (!desired.has(name) && !keep.has(name)) {
      changes.push({ table: name, kind: 'drop', statements: [`DROP TABLE ${quoteIdent(name)}`], clauses: [], before: model });
    }
  }
  const order = { create: 0, alter: 1, drop: 2 };
  return changes.sort((a, b) => order[a.kind] - order[b.kind] || a.table.localeCompare(b.table));
}
