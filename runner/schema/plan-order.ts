// The order in which a plan's changes run with foreign_key_checks on: a table before the tables that
// reference it are created or gain a key to it; a key dropped before the table (or column, or index)
// it references goes; drops referencing-first. What the server refuses in one step is split:
// - a foreign-key cycle among new tables: one table is created without its key to the other, and
//   the key is added once both exist;
// - a type change of a column linked by a foreign key (either side): the keys are dropped first, the
//   columns altered, and the keys added back last.
import { quoteIdent } from '../db/quote.ts';
import { columnTypeText } from './column-type.ts';
import { alterBodies, type AlterClause, type TableChange } from './diff.ts';
import { foreignKeys, parseForeignKey, type ForeignKey, type TableModel } from './table-model.ts';

export type StepPart = 'drop-foreign-keys' | 'main' | 'add-foreign-keys';

export interface PlanStep extends TableChange {
  part: StepPart;
}

const isForeignKeyDrop = (c: AlterClause) => c.kind === 'drop-constraint' && c.sql.startsWith('DROP FOREIGN KEY');
const isForeignKeyAdd = (c: AlterClause) => c.kind === 'add-constraint' && / FOREIGN KEY /.test(c.sql);

function addedKey(clause: AlterClause): ForeignKey | undefined {
  return parseForeignKey(clause.sql.replace(/^ADD /, ''));
}

function alterStep(change: TableChange, part: StepPart, clauses: AlterClause[], notes?: string[]): PlanStep {
  const alters = alterBodies(clauses);
  return { ...change, kind: 'alter', part, clauses, alters, statements: alters.map((a) => `ALTER TABLE ${quoteIdent(change.table)} ${a}`),
    notes, error: part === 'main' ? change.error : undefined };
}

/** Columns (live and desired names) whose data type changes, by table. */
function typeChanges(changes: TableChange[]): Map<string, Set<string>> {
  const changed = new Map<string, Set<string>>();
  for (const change of changes) {
    for (const c of change.clauses) {
      if ((c.kind === 'modify-column' || c.kind === 'rename-column') && columnTypeText(c.before!) !== columnTypeText(c.after!)) {
        const names = changed.get(change.table) ?? changed.set(change.table, new Set()).get(change.table)!;
        names.add(c.target);
        if (c.from) names.add(c.from);
      }
    }
  }
  return changed;
}

const linked = (key: ForeignKey, table: string, changed: Map<string, Set<string>>) => key.schema === undefined
  && (key.columns.some((c) => changed.get(table)?.has(c)) || key.referencedColumns.some((c) => changed.get(key.table)?.has(c)));

/** Splits the foreign keys that stand in the way of a type change out of their tables' ALTERs. */
function decomposeTypeChanges(changes: TableChange[], live: Map<string, TableModel>): PlanStep[] {
  const changed = typeChanges(changes);
  const steps: PlanStep[] = [];
  for (const change of changes) {
    if (change.kind !== 'alter') {
      steps.push({ ...change, part: 'main' });
      continue;
    }
    const dropped = foreignKeys(live.get(change.table)!).filter((k) => linked(k, change.table, changed)).map((k) => k.name);
    const added = foreignKeys(change.after!).filter((k) => linked(k, change.table, changed)).map((k) => k.name);
    if (dropped.length === 0 && added.length === 0) {
      steps.push({ ...change, part: 'main' });
      continue;
    }
    const unchanged = new Set(dropped.filter((name) => added.includes(name) && !change.clauses.some((c) => c.target === name && isForeignKeyDrop(c))));
    const pre = [
      ...change.clauses.filter((c) => isForeignKeyDrop(c) && dropped.includes(c.target)),
      ...[...unchanged].map((name): AlterClause => ({ kind: 'drop-constraint', target: name, sql: `DROP FOREIGN KEY ${quoteIdent(name)}` })),
    ];
    const post = [
      ...change.clauses.filter((c) => isForeignKeyAdd(c) && added.includes(c.target)),
      ...[...unchanged].map((name): AlterClause => ({
        kind: 'add-constraint', target: name, sql: `ADD ${change.after!.constraints.find((c) => c.name === name)!.definition}`,
      })),
    ];
    const rest = change.clauses.filter((c) => !pre.includes(c) && !post.includes(c));
    const keys = [...new Set([...dropped, ...added])].map((k) => `\`${k}\``).join(', ');
    const why = `the server refuses to change the type of a column linked by a foreign key, so ${keys} `
      + `${dropped.length && added.length ? 'is dropped first and added back last' : dropped.length ? 'is dropped first' : 'is added last'}`;
    if (pre.length) steps.push(alterStep(change, 'drop-foreign-keys', pre, [`Step before the type changes: ${why}.`]));
    if (rest.length) steps.push(alterStep(change, 'main', rest, change.notes));
    if (post.length) {
      steps.push(alterStep(change, 'add-foreign-keys', post, [`Step after the type changes: ${why}; with foreign_key_checks on, `
        + 'adding a key checks every row (a table copy that blocks writes to this table).']));
    }
  }
  return steps;
}

/** The tables whose keys a step adds, and those whose keys it removes (other than its own table). */
function references(step: PlanStep, live: Map<string, TableModel>): { adds: Set<string>; drops: Set<string> } {
  const others = (keys: (ForeignKey | undefined)[]) => new Set(keys.filter((k): k is ForeignKey => k !== undefined && k.schema === undefined
    && k.table !== step.table).map((k) => k.table));
  if (step.kind === 'create') return { adds: others(foreignKeys(createdModel(step))), drops: new Set() };
  if (step.kind === 'drop') return { adds: new Set(), drops: others(foreignKeys(step.before!)) };
  const current = live.get(step.table);
  const liveKeys = current ? foreignKeys(current) : [];
  return {
    adds: others(step.clauses.filter(isForeignKeyAdd).map(addedKey)),
    drops: others(step.clauses.filter(isForeignKeyDrop).map((c) => liveKeys.find((k) => k.name === c.target))),
  };
}

/** The model a create step's statement makes (its `after`, less the keys moved to a later step). */
function createdModel(step: PlanStep): TableModel {
  return { ...step.after!, constraints: step.after!.constraints.filter((c) => step.statements[0].includes(c.definition)) };
}

/** A create without the given foreign keys, and the ALTER that adds them once the referenced tables exist. */
function breakCycle(step: PlanStep, keys: string[], partners: string[]): PlanStep[] {
  const definitions = step.after!.constraints.filter((c) => keys.includes(c.name)).map((c) => c.definition);
  const lines = step.statements[0].split('\n').filter((l) => !definitions.includes(l.trim().replace(/,$/, '')));
  const close = lines.findIndex((l) => l.startsWith(')'));
  lines[close - 1] = lines[close - 1].replace(/,$/, '');
  const clauses = definitions.map((d, i): AlterClause => ({ kind: 'add-constraint', target: keys[i], sql: `ADD ${d}` }));
  const note = `\`${step.table}\` and ${partners.map((p) => `\`${p}\``).join(', ')} reference each other: \`${step.table}\` is created without `
    + `${keys.map((k) => `\`${k}\``).join(', ')}, which is added once the referenced tables exist`;
  return [
    { ...step, statements: [lines.join('\n')], notes: [...step.notes ?? [], `${note}.`] },
    { ...alterStep({ ...step, before: undefined }, 'add-foreign-keys', clauses, [`${note} (no rows yet: instant to validate).`]) },
  ];
}

const RANK: Record<TableChange['kind'], number> = { create: 0, alter: 1, drop: 2 };
const PART: Record<StepPart, number> = { 'drop-foreign-keys': 0, main: 1, 'add-foreign-keys': 2 };
const compare = (a: PlanStep, b: PlanStep) => RANK[a.kind] - RANK[b.kind] || a.table.localeCompare(b.table) || PART[a.part] - PART[b.part];

/**
 * Topological order over the rules above, with the usual order (creates, alters, drops, by name) among
 * steps that do not depend on each other. `blocked` lists the steps left when a cycle cannot be broken.
 */
function topological(steps: PlanStep[], live: Map<string, TableModel>): { ordered: PlanStep[]; blocked: PlanStep[] } {
  const refs = steps.map((s) => references(s, live));
  const after = steps.map(() => new Set<number>());
  steps.forEach((s, i) => steps.forEach((t, j) => {
    if (i === j) return;
    if (s.table === t.table && PART[s.part] < PART[t.part]) after[j].add(i);
    if (refs[j].adds.has(s.table) && s.part === 'main' && s.kind !== 'drop') after[j].add(i);
    if (refs[i].drops.has(t.table) && t.part === 'main') after[j].add(i);
  }));
  const done = new Set<number>();
  const ordered: PlanStep[] = [];
  for (;;) {
    const ready = steps.map((_, i) => i).filter((i) => !done.has(i) && [...after[i]].every((d) => done.has(d)));
    if (ready.length === 0) break;
    const next = ready.sort((a, b) => compare(steps[a], steps[b]))[0];
    done.add(next);
    ordered.push(steps[next]);
  }
  return { ordered, blocked: steps.filter((_, i) => !done.has(i)) };
}

/** Orders the changes for foreign_key_checks=1, splitting what the server would refuse in one step. */
export function orderChanges(changes: TableChange[], live: Map<string, TableModel>): PlanStep[] {
  let steps = decomposeTypeChanges(changes, live);
  for (let round = 0; round <= steps.length; round++) {
    const { ordered, blocked } = topological(steps, live);
    if (blocked.length === 0) return ordered;
    // A cycle among new tables: the first of them (by name) gets its keys back into the cycle later.
    const creates = blocked.filter((s) => s.kind === 'create').sort(compare);
    const targets = new Map(creates.map((s) => [s.table, foreignKeys(createdModel(s)).map((k) => k.table).filter((t) => t !== s.table)]));
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean => from === to
      || (!seen.has(from) && (seen.add(from), (targets.get(from) ?? []).some((t) => reaches(t, to, seen))));
    const backInCycle = (s: PlanStep) => foreignKeys(createdModel(s)).filter((k) => k.table !== s.table && targets.has(k.table) && reaches(k.table, s.table));
    const create = creates.find((s) => backInCycle(s).length > 0);
    if (create) {
      const keys = backInCycle(create);
      steps = steps.flatMap((s) => (s === create ? breakCycle(s, keys.map((k) => k.name), [...new Set(keys.map((k) => k.table))]) : [s]));
      continue;
    }
    // A cycle among ALTERs (a key dropped here, another added there): drop the keys in a step of their own.
    const alter = blocked.filter((s) => s.kind === 'alter' && s.part === 'main' && s.clauses.some(isForeignKeyDrop)).sort(compare)[0];
    if (!alter) return [...ordered, ...blocked.sort(compare)];
    const drops = alter.clauses.filter(isForeignKeyDrop);
    const rest = alter.clauses.filter((c) => !drops.includes(c));
    steps = steps.flatMap((s) => (s === alter
      ? [alterStep(s, 'drop-foreign-keys', drops, ['Its foreign keys are dropped in a step of their own, before the changes of the tables they reference.']),
        ...(rest.length ? [alterStep(s, 'main', rest, s.notes)] : [])]
      : [s]));
  }
  return steps.sort(compare);
}
