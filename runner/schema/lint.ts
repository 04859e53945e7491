// The lint rule catalog. Each rule has a stable code and a default severity (overridable per repo);
// each finding says what breaks, why, and the safe way to do it, at the line of the .sql file it is
// about. `-- schemabot:ignore CODE reason` on that line (or alone on the line above) suppresses it.
import type { TableChange } from './diff.ts';
import { INTEGER_MAX, narrowing, parseColumnType, timeZoneChange } from './column-type.ts';
import type { SchemaFile } from './schema-files.ts';
import type { TableModel } from './table-model.ts';
import type { DataEvidence } from './data-checks.ts';

export type Severity = 'error' | 'warning' | 'notice';

export interface Finding {
  code: string;
  rule: string;
  severity: Severity;
  table: string;
  message: string;
  path?: string;
  line?: number;
  /** The column, index or constraint the finding is about, if any. */
  subject?: string;
  /** Rows of the live table that make the change fail or lose data (data-checks.ts). */
  data?: DataEvidence;
}

export interface LintInput {
  changes: TableChange[];
  desired: Map<string, TableModel>;
  files: Map<string, SchemaFile>;
  /** Live AUTO_INCREMENT counters by table. */
  autoIncrement: Map<string, number>;
  /** Live row estimates by table. */
  rows: Map<string, number>;
}

/** A finding before placement: `column` or `index` names the line it is about (else the table's). */
type Raw = { table: string; message: string; column?: string; index?: string };

interface Rule {
  code: string;
  name: string;
  severity: Severity;
  check(input: LintInput): Raw[];
}

const alters = (input: LintInput) => input.changes.filter((c) => c.kind === 'alter');
const clausesOf = (input: LintInput, kinds: string[]) =>
  alters(input).flatMap((change) => change.clauses.filter((c) => kinds.includes(c.kind)).map((clause) => ({ change, clause })));

const MONEY = /(price|amount|cost|balance|total|fee|money|salary|payment|tax)/i;
const RESERVED = new Set(['add', 'all', 'alter', 'and', 'as', 'asc', 'between', 'by', 'case', 'change', 'check', 'column',
  'condition', 'constraint', 'create', 'cross', 'current_date', 'database', 'default', 'delete', 'desc', 'distinct', 'drop',
  'else', 'exists', 'fetch', 'for', 'foreign', 'from', 'fulltext', 'grant', 'group', 'having', 'if', 'in', 'index', 'inner',
  'insert', 'interval', 'into', 'is', 'join', 'key', 'keys', 'kill', 'left', 'like', 'limit', 'lock', 'match', 'not', 'null',
  'on', 'option', 'or', 'order', 'outer', 'primary', 'range', 'read', 'references', 'rename', 'replace', 'right', 'select',
  'set', 'show', 'table', 'then', 'to', 'trigger', 'union', 'unique', 'update', 'usage', 'use', 'using', 'values', 'when',
  'where', 'with', 'write', 'rank', 'row', 'rows', 'window', 'system', 'user']);

export const RULES: Rule[] = [
  {
    code: 'SB101', name: 'drop-table', severity: 'error',
    check: (input) => input.changes.filter((c) => c.kind === 'drop').map((c) => ({
      table: c.table,
      message: `Dropping \`${c.table}\` deletes its ${input.rows.get(c.table) ?? 0} rows for good. Safe sequence: ship code that no `
        + 'longer uses it, keep a backup (or rename it aside), then drop it in a later change.',
    })),
  },
  {
    code: 'SB102', name: 'drop-column', severity: 'error',
    check: (input) => clausesOf(input, ['drop-column']).map(({ change, clause }) => ({
      table: change.table,
      message: `Dropping \`${change.table}\`.\`${clause.target}\` discards its data, and code that still reads or writes it breaks `
        + 'the moment the change lands. Safe sequence: deploy code that no longer uses the column, then drop it in a second deploy.',
    })),
  },
  {
    code: 'SB103', name: 'narrowing', severity: 'error',
    check: (input) => clausesOf(input, ['modify-column', 'rename-column']).flatMap(({ change, clause }) => {
      const why = narrowing(parseColumnType(clause.before!), parseColumnType(clause.after!));
      return why ? [{
        table: change.table, column: clause.target,
        message: `\`${clause.target}\`: ${why}; rows that do not fit make the migration fail (it never truncates). Check the `
          + 'data first, or add a new column, backfill it, and switch over.',
      }] : [];
    }),
  },
  {
    code: 'SB105', name: 'time-zone-semantics', severity: 'warning',
    check: (input) => clausesOf(input, ['modify-column', 'rename-column']).flatMap(({ change, clause }) => {
      const why = timeZoneChange(parseColumnType(clause.before!), parseColumnType(clause.after!));
      return why ? [{ table: change.table, column: clause.target, message: `\`${clause.target}\`: ${why} Check every reader and writer of the column.` }] : [];
    }),
  },
  {
    code: 'SB104', name: 'charset-change-on-indexed-column', severity: 'warning',
    check: (input) => clausesOf(input, ['modify-column']).flatMap(({ change, clause }) => {
      const before = parseColumnType(clause.before!).charset;
      const after = parseColumnType(clause.after!).charset;
      const indexed = change.after!.indexes.some((i) => i.columns.includes(clause.target));
      return before !== after && indexed ? [{
        table: change.table, column: clause.target,
        message: `\`${clause.target}\` changes character set (${before ?? 'table default'} → ${after ?? 'table default'}) and is indexed: `
          + 'the index is rebuilt, may exceed the key length limit, and equal/unique comparisons can change under the new collation.',
      }] : [];
    }),
  },
  {
    code: 'SB201', name: 'new-unique-key', severity: 'warning',
    check: (input) => clausesOf(input, ['add-index']).flatMap(({ change, clause }) => {
      const index = change.after!.indexes.find((i) => i.name === clause.target)!;
      const existed = change.before!.indexes.some((i) => i.name === clause.target && (i.kind === 'UNIQUE' || i.kind === 'PRIMARY'));
      return (index.kind === 'UNIQUE' || index.kind === 'PRIMARY') && !existed ? [{
        table: change.table, index: clause.target,
        message: `New unique key \`${clause.target}\` (${index.columns.join(', ')}) depends on the data: existing duplicates fail the `
          + 'migration before cut-over. Check with SELECT … GROUP BY … HAVING COUNT(*) > 1 and clean up first.',
      }] : [];
    }),
  },
  {
    code: 'SB202', name: 'not-null-without-default', severity: 'warning',
    check: (input) => clausesOf(input, ['modify-column', 'add-column']).flatMap(({ change, clause }) => {
      const after = parseColumnType(clause.after!);
      const becameNotNull = clause.kind === 'add-column' || parseColumnType(clause.before!).nullable;
      return !after.nullable && !after.hasDefault && !after.generated && becameNotNull ? [{
        table: change.table, column: clause.target,
        message: `\`${clause.target}\` becomes NOT NULL without a DEFAULT: existing rows need a value (NULLs make the migration fail) `
          + 'and inserts that omit it start failing. Add a DEFAULT, or backfill and deploy writers first.',
      }] : [];
    }),
  },
  {
    code: 'SB203', name: 'enum-set-values', severity: 'error',
    check: (input) => clausesOf(input, ['modify-column']).flatMap(({ change, clause }) => {
      const before = parseColumnType(clause.before!);
      const after = parseColumnType(clause.after!);
      if (!['enum', 'set'].includes(before.base) || before.base !== after.base) return [];
      const removed = before.args.filter((v) => !after.args.includes(v));
      const reordered = !removed.length && before.args.some((v, i) => after.args[i] !== v);
      if (!removed.length && !reordered) return [];
      return [{
        table: change.table, column: clause.target,
        message: removed.length
          ? `\`${clause.target}\` loses ${before.base} value(s) ${removed.map((v) => `'${v}'`).join(', ')}: rows holding them fail the `
            + 'migration. Migrate those rows to another value first.'
          : `\`${clause.target}\` reorders its ${before.base} values: stored ordinals, sorting and numeric comparisons change. Only append new values at the end.`,
      }];
    }),
  },
  {
    code: 'SB301', name: 'missing-primary-key', severity: 'error',
    check: (input) => [...input.desired.values()].filter((t) => !t.indexes.some((i) => i.kind === 'PRIMARY')).map((t) => ({
      table: t.name,
      message: `\`${t.name}\` has no PRIMARY KEY: replication is slow and online migrations need a unique key. Add an id PRIMARY KEY.`,
    })),
  },
  {
    code: 'SB302', name: 'redundant-index', severity: 'warning',
    check: (input) => [...input.desired.values()].flatMap((t) => t.indexes.flatMap((index) => {
      if (index.kind !== 'INDEX') return [];
      // Key parts compare with their prefix lengths: KEY (name) is not redundant next to UNIQUE (name(10)).
      const covering = t.indexes.find((o) => o !== index && o.kind !== 'FULLTEXT' && o.kind !== 'SPATIAL'
        && o.parts.length >= index.parts.length && index.parts.every((p, n) => o.parts[n] === p)
        && (o.parts.length > index.parts.length || o.kind !== 'INDEX' || t.indexes.indexOf(o) < t.indexes.indexOf(index)));
      return covering ? [{
        table: t.name, index: index.name,
        message: `Index \`${index.name}\` (${index.columns.join(', ')}) is a prefix of \`${covering.name}\`: it costs writes and disk for nothing. Drop it.`,
      }] : [];
    })),
  },
  {
    code: 'SB303', name: 'foreign-key', severity: 'warning',
    check: (input) => [...input.desired.values()].flatMap((t) => t.constraints.filter((c) => c.kind === 'FOREIGN KEY').map((c) => ({
      table: t.name, index: c.name,
      message: `Foreign key \`${c.name}\`: tables with foreign keys cannot be migrated online (a table swap breaks them), and `
        + 'cascades hide writes from the binlog tooling. Enforce the relation in the application.',
    }))),
  },
  {
    code: 'SB304', name: 'engine-not-innodb', severity: 'warning',
    check: (input) => [...input.desired.values()].filter((t) => (t.options.get('ENGINE') ?? 'InnoDB') !== 'InnoDB').map((t) => ({
      table: t.name, message: `\`${t.name}\` uses ENGINE=${t.options.get('ENGINE')}: no transactions or crash safety, and no online migration. Use InnoDB.`,
    })),
  },
  {
    code: 'SB305', name: 'charset-not-utf8mb4', severity: 'warning',
    check: (input) => [...input.desired.values()].flatMap((t) => {
      const table = t.options.get('CHARSET');
      const found: Raw[] = table && table !== 'utf8mb4'
        ? [{ table: t.name, message: `\`${t.name}\` defaults to CHARSET=${table}: text outside it (emoji, most scripts) cannot be stored. Use utf8mb4.` }]
        : [];
      for (const c of t.columns) {
        const charset = parseColumnType(c.definition).charset;
        if (charset && charset !== 'utf8mb4' && charset !== 'binary') {
          found.push({ table: t.name, column: c.name, message: `\`${c.name}\` uses CHARACTER SET ${charset}: use utf8mb4 so any text fits.` });
        }
      }
      return found;
    }),
  },
  {
    code: 'SB306', name: 'float-for-money', severity: 'warning',
    check: (input) => [...input.desired.values()].flatMap((t) => t.columns.filter((c) => MONEY.test(c.name)
      && ['float', 'double'].includes(parseColumnType(c.definition).base)).map((c) => ({
      table: t.name, column: c.name,
      message: `\`${c.name}\` looks like money but is ${parseColumnType(c.definition).base}: binary floating point cannot hold 0.10 exactly and sums drift. Use DECIMAL(p,2).`,
    }))),
  },
  {
    code: 'SB307', name: 'reserved-word', severity: 'notice',
    check: (input) => [...input.desired.values()].flatMap((t) => [t.name, ...t.columns.map((c) => c.name)]
      .filter((n) => RESERVED.has(n.toLowerCase())).map((n) => ({
        table: t.name, column: n === t.name ? undefined : n,
        message: `\`${n}\` is a reserved word: every query must quote it, and tools and ORMs that do not will break. Rename it.`,
      }))),
  },
  {
    code: 'SB308', name: 'auto-increment-capacity', severity: 'warning',
    check: (input) => [...input.desired.values()].flatMap((t) => {
      const counter = input.autoIncrement.get(t.name);
      const column = t.columns.find((c) => /\bAUTO_INCREMENT\b/.test(c.definition));
      if (!counter || !column) return [];
      const type = parseColumnType(column.definition);
      const max = INTEGER_MAX[type.base]?.[type.unsigned ? 1 : 0];
      if (!max) return [];
      const used = Number((BigInt(counter) * 1000n) / max) / 10;
      return used >= 50 ? [{
        table: t.name, column: column.name,
        message: `\`${column.name}\` (${type.base}${type.unsigned ? ' unsigned' : ''}) has used ${used}% of its range (next id ${counter}): `
          + 'inserts fail when it runs out. Widen it to BIGINT UNSIGNED now, while that is still a routine migration.',
      }] : [];
    }),
  },
];

export type LintConfig = Record<string, Severity | 'off'>;

function suppressionFor(file: SchemaFile | undefined, code: string, line: number | undefined) {
  return file?.suppressions.find((s) => s.line === line && s.codes.includes(code));
}

export function lint(input: LintInput, config: LintConfig = {}): Finding[] {
  const findings: Finding[] = [];
  for (const rule of RULES) {
    const severity = config[rule.code] ?? config[rule.name] ?? rule.severity;
    if (severity === 'off') continue;
    for (const raw of rule.check(input)) {
      const file = input.files.get(raw.table);
      const elementLine = raw.column ? file?.columnLines.get(raw.column) : raw.index ? file?.indexLines.get(raw.index) : undefined;
      const line = file ? elementLine ?? file.statementLine : undefined;
      const suppression = suppressionFor(file, rule.code, line);
      if (suppression?.reason) continue;
      findings.push({ code: rule.code, rule: rule.name, severity, table: raw.table, message: raw.message, path: file?.path, line,
        subject: raw.column ?? raw.index });
      if (suppression) {
        findings.push({ code: 'SB002', rule: 'suppression-without-reason', severity: 'warning', table: raw.table, path: file?.path,
          line, message: `Suppressing ${rule.code} needs a reason: \`-- schemabot:ignore ${rule.code} <why this is safe>\`.` });
      }
    }
  }
  return findings;
}

const EXISTING_DEBT = { code: 'SB001', name: 'existing-debt', severity: 'notice' as Severity };

const findingKey = (f: Finding) => `${f.code}\u0000${f.table}\u0000${f.subject ?? ''}`;

/**
 * Lint judges what the change does: a finding that was already true of the schema before it (the base
 * branch's files, or the live tables) is existing debt. Debt is listed apart and summed up in one
 * notice (rule SB001 existing-debt, whose severity the repository may raise); it never fails a plan.
 */
export function separateDebt(after: Finding[], before: Finding[], config: LintConfig = {}): { findings: Finding[]; debt: Finding[] } {
  const existing = new Set(before.map(findingKey));
  const debt = after.filter((f) => existing.has(findingKey(f)) && f.code !== 'SB002');
  const findings = after.filter((f) => !debt.includes(f));
  const severity = config[EXISTING_DEBT.code] ?? config[EXISTING_DEBT.name] ?? EXISTING_DEBT.severity;
  if (debt.length > 0 && severity !== 'off') {
    const byCode = new Map<string, Set<string>>();
    for (const f of debt) byCode.set(`${f.code} ${f.rule}`, (byCode.get(`${f.code} ${f.rule}`) ?? new Set()).add(f.table));
    const list = [...byCode].map(([rule, tables]) => `${rule} × ${tables.size} (${[...tables].slice(0, 5).map((t) => `\`${t}\``).join(', ')}`
      + `${tables.size > 5 ? ', …' : ''})`).join('; ');
    findings.push({ code: EXISTING_DEBT.code, rule: EXISTING_DEBT.name, severity, table: debt[0].table,
      message: `${debt.length} finding(s) were already true before this change and are not judged here: ${list}. They are listed under existing debt.` });
  }
  return { findings, debt };
}
