// Findings backed by the live data: where a change can fail or lose data, count the rows of the live
// table that stand in its way (values that do not fit the new type, NULLs for a new NOT NULL, removed
// ENUM/SET values, duplicate groups for a new unique key) and name a few by primary key. Each count has
// a time budget (the server's max_statement_time); past it, the count is taken over a sample of the
// first rows and labelled as such. Only plain SELECTs on a READ COMMITTED connection: no locks, nothing
// written. The SQL is built from the server's canonical definitions, every identifier quoted, every
// literal escaped; examples show primary-key values only, never the contents of other columns.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { escape } from 'mysql2';
import { mysqlErrno } from '../db/mysql-errors.ts';
import { quoteIdent } from '../db/quote.ts';
import { INTEGER_MAX, parseColumnType, type ColumnType } from './column-type.ts';
import type { AlterClause, TableChange } from './diff.ts';
import type { Finding } from './lint.ts';
import type { TableModel } from './table-model.ts';

export interface DataEvidence {
  /** Offending rows, or duplicate groups for a unique key. */
  count: number;
  unit: 'rows' | 'groups';
  /** Primary-key values of a few offending rows (for groups: rows of the largest group). */
  examples: string[];
  /** Present when the count is over a sample of the first rows, because the full count ran out of time. */
  sampledRows?: number;
  /** What was counted, in words. */
  what: string;
}

export interface DataCheckOptions {
  /** Time budget of one count, in seconds (default 2); 0 goes straight to the sample. */
  budgetSeconds?: number;
  /** Rows of the sample when the budget runs out (default 100,000). */
  sampleRows?: number;
}

interface RowCheck {
  /** A boolean SQL expression over the live columns: true for an offending row. */
  predicate: string;
  what: string;
  /** True when such rows make the migration fail (else they lose data, e.g. rounding). */
  fails: boolean;
}

const STATEMENT_TIMEOUT = 1969;
const TEXT_BYTES: Record<string, number> = { tinytext: 255, text: 65_535, mediumtext: 16_777_215, tinyblob: 255, blob: 65_535, mediumblob: 16_777_215 };

function rangeCheck(col: string, after: ColumnType, name: string): RowCheck | undefined {
  const max = INTEGER_MAX[after.base];
  if (!max) return undefined;
  const [lo, hi] = after.unsigned ? [0n, max[1]] : [-max[0] - 1n, max[0]];
  return { predicate: `${col} < ${lo} OR ${col} > ${hi}`, what: `have \`${name}\` outside ${lo} … ${hi}`, fails: true };
}

/** Rows whose value of the column does not survive the type change, when that can be said in SQL. */
function narrowingCheck(col: string, name: string, before: ColumnType, after: ColumnType): RowCheck | undefined {
  if (before.charset && after.charset && before.charset !== after.charset) {
    return { predicate: `BINARY CONVERT(CONVERT(${col} USING ${after.charset}) USING utf8mb4) <> BINARY CONVERT(${col} USING utf8mb4)`,
      what: `hold characters in \`${name}\` that ${after.charset} cannot store`, fails: true };
  }
  if (['varchar', 'char'].includes(after.base) && ['varchar', 'char', 'tinytext', 'text', 'mediumtext', 'longtext'].includes(before.base)) {
    const n = Number(after.args[0] ?? 1);
    return { predicate: `CHAR_LENGTH(${col}) > ${n}`, what: `have \`${name}\` longer than ${n} characters`, fails: true };
  }
  if (['varbinary', 'binary'].includes(after.base)) {
    const n = Number(after.args[0] ?? 1);
    return { predicate: `LENGTH(${col}) > ${n}`, what: `have \`${name}\` longer than ${n} bytes`, fails: true };
  }
  if (after.base in TEXT_BYTES) {
    return { predicate: `LENGTH(${col}) > ${TEXT_BYTES[after.base]}`, what: `have \`${name}\` longer than ${TEXT_BYTES[after.base]} bytes`, fails: true };
  }
  if (after.base in INTEGER_MAX && (before.base in INTEGER_MAX || before.base === 'decimal')) return rangeCheck(col, after, name);
  if (before.base === 'decimal' && after.base === 'decimal') {
    const [bp, bs] = before.args.map(Number);
    const [ap, as] = after.args.map(Number);
    if (ap - as < bp - bs) {
      return { predicate: `ABS(${col}) >= 1${'0'.repeat(ap - as)}`, what: `have \`${name}\` with more than ${ap - as} integer digits`, fails: true };
    }
    if (!before.unsigned && after.unsigned) return { predicate: `${col} < 0`, what: `have a negative \`${name}\``, fails: true };
    if (as < bs) return { predicate: `${col} <> ROUND(${col}, ${as})`, what: `have \`${name}\` with more than ${as} decimals (rounded)`, fails: false };
  }
  if (before.base === 'datetime' && after.base === 'timestamp') {
    return { predicate: `${col} < '1970-01-01 00:00:01' OR ${col} > '2038-01-19 03:14:07'`, what: `have \`${name}\` outside the TIMESTAMP range`, fails: true };
  }
  return undefined;
}

function removedValuesCheck(col: string, name: string, before: ColumnType, after: ColumnType): RowCheck | undefined {
  const removed = before.args.filter((v) => !after.args.includes(v));
  if (removed.length === 0 || before.base !== after.base) return undefined;
  const predicate = before.base === 'enum'
    ? `${col} IN (${removed.map((v) => escape(v)).join(', ')})`
    : removed.map((v) => `FIND_IN_SET(${escape(v)}, ${col})`).join(' OR ');
  return { predicate, what: `hold removed ${before.base} value(s) ${removed.map((v) => `'${v}'`).join(', ')} in \`${name}\``, fails: true };
}

/** The clause a finding is about: by its column or index name (the desired name). */
function clauseOf(change: TableChange, finding: Finding): AlterClause | undefined {
  const kinds = finding.code === 'SB201' ? ['add-index'] : ['modify-column', 'rename-column', 'add-column'];
  return change.clauses.find((c) => c.target === finding.subject && kinds.includes(c.kind));
}

function rowCheckFor(finding: Finding, clause: AlterClause): RowCheck | undefined {
  const live = clause.from ?? clause.target;
  const col = quoteIdent(live);
  const before = parseColumnType(clause.before!);
  const after = parseColumnType(clause.after!);
  switch (finding.code) {
    case 'SB103': return narrowingCheck(col, clause.target, before, after);
    case 'SB202': return clause.kind === 'add-column' ? undefined : { predicate: `${col} IS NULL`, what: `have NULL in \`${clause.target}\``, fails: true };
    case 'SB203': return removedValuesCheck(col, clause.target, before, after);
    default: return undefined;
  }
}

class Counter {
  private readonly budget: number;
  private readonly sampleRows: number;

  constructor(private readonly conn: Connection, private readonly schema: string, private readonly table: string,
    private readonly live: TableModel, options: DataCheckOptions) {
    this.budget = options.budgetSeconds ?? 2;
    this.sampleRows = options.sampleRows ?? 100_000;
  }

  private get key(): string[] {
    return this.live.indexes.find((i) => i.kind === 'PRIMARY')?.columns ?? [];
  }

  /** `FROM t`, or a sample of its first rows under the same column names. */
  private source(sampled: boolean, columns: string[]): string {
    const t = `${quoteIdent(this.schema)}.${quoteIdent(this.table)}`;
    if (!sampled) return t;
    const list = [...new Set([...this.key, ...columns])].map(quoteIdent).join(', ');
    return `(SELECT ${list} FROM ${t} LIMIT ${this.sampleRows}) AS sample`;
  }

  private async timed<T extends RowDataPacket[]>(sql: string): Promise<T | undefined> {
    try {
      const [rows] = await this.conn.query<T>(`SET STATEMENT max_statement_time = ${this.budget} FOR ${sql}`);
      return rows;
    } catch (err) {
      if (mysqlErrno(err) === STATEMENT_TIMEOUT) return undefined;
      throw err;
    }
  }

  private async sampleOnly<T extends RowDataPacket[]>(sql: string): Promise<T> {
    const [rows] = await this.conn.query<T>(sql);
    return rows;
  }

  /** Runs `build(sampled)` within the budget, else over the sample (itself bounded by the sample size). */
  private async run(build: (sampled: boolean) => string): Promise<{ rows: RowDataPacket[]; sampled: boolean }> {
    if (this.budget > 0) {
      const rows = await this.timed(build(false));
      if (rows) return { rows, sampled: false };
    }
    return { rows: await this.sampleOnly(build(true)), sampled: true };
  }

  /** A row's key for a PR comment: numbers as they are, anything else in a code span (no mention, link or markup). */
  private format(row: RowDataPacket): string {
    const values = this.key.map((k) => {
      const v: unknown = row[k];
      if (v === null) return 'NULL';
      const text = Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : String(v);
      return /^-?\d+(\.\d+)?$/.test(text) ? text : `\`${text.slice(0, 40).replace(/[`\n\r]/g, '?')}\``;
    });
    return this.key.length === 1 ? `${this.key[0]} ${values[0]}` : `(${this.key.join(', ')}) = (${values.join(', ')})`;
  }

  async rows(check: RowCheck, columns: string[]): Promise<DataEvidence> {
    const counted = await this.run((s) => `SELECT COUNT(*) AS n FROM ${this.source(s, columns)} WHERE ${check.predicate}`);
    const count = Number(counted.rows[0].n);
    let examples: string[] = [];
    if (count > 0 && this.key.length > 0) {
      const [rows] = await this.conn.query<RowDataPacket[]>(
        `SELECT ${this.key.map(quoteIdent).join(', ')} FROM ${this.source(counted.sampled, columns)} WHERE ${check.predicate} LIMIT 3`);
      examples = rows.map((r) => this.format(r));
    }
    return { count, unit: 'rows', examples, what: check.what, sampledRows: counted.sampled ? this.sampleRows : undefined };
  }

  async duplicates(parts: string[], indexName: string): Promise<DataEvidence> {
    const exprs = parts.map((p) => {
      const m = /^(`(?:[^`]|``)+`)(?:\((\d+)\))?/.exec(p)!;
      return m[2] ? `LEFT(${m[1]}, ${m[2]})` : m[1];
    });
    const columns = parts.map((p) => /^`((?:[^`]|``)+)`/.exec(p)![1].replace(/``/g, '`'));
    const notNull = exprs.map((e) => `${e} IS NOT NULL`).join(' AND ');
    const groups = (s: boolean) => `SELECT COUNT(*) AS n FROM ${this.source(s, columns)} WHERE ${notNull} GROUP BY ${exprs.join(', ')} HAVING COUNT(*) > 1`;
    const counted = await this.run((s) => `SELECT COUNT(*) AS n FROM (${groups(s)}) AS g`);
    const count = Number(counted.rows[0].n);
    let examples: string[] = [];
    let largest = 0;
    if (count > 0) {
      const [[top]] = await this.conn.query<RowDataPacket[]>(
        `SELECT ${exprs.join(', ')}, COUNT(*) AS n FROM ${this.source(counted.sampled, columns)} WHERE ${notNull} GROUP BY ${exprs.join(', ')} `
        + 'HAVING COUNT(*) > 1 ORDER BY n DESC LIMIT 1');
      largest = Number(top.n);
      if (this.key.length > 0) {
        const same = exprs.map((e, i) => `${e} <=> ${escape(Object.values(top)[i])}`).join(' AND ');
        const [rows] = await this.conn.query<RowDataPacket[]>(
          `SELECT ${this.key.map(quoteIdent).join(', ')} FROM ${this.source(counted.sampled, columns)} WHERE ${same} LIMIT 3`);
        examples = rows.map((r) => this.format(r));
      }
    }
    return { count, unit: 'groups', examples, sampledRows: counted.sampled ? this.sampleRows : undefined,
      what: `duplicate group(s) for new unique key \`${indexName}\`${largest ? ` (the largest: ${largest} rows with one value)` : ''}` };
  }
}

/** The sentence that leads a finding's message. */
export function describeEvidence(e: DataEvidence, fails: boolean): string {
  const scope = e.sampledRows ? `In a sample of the first ${e.sampledRows.toLocaleString('en-US')} rows (the full count ran out of its time budget): ` : '';
  const examples = e.examples.length ? ` (e.g. ${e.examples.join('; ')})` : '';
  if (e.unit === 'groups') {
    return e.count > 0
      ? `${scope}${e.count.toLocaleString('en-US')} ${e.what}${examples}: this migration will fail.`
      : `${scope}no duplicates for the new key today.`;
  }
  if (e.count === 0) return `${scope}no row ${e.what.replace(/^(have|hold)/, 'has').replace(/^has NULL/, 'is NULL')} today.`;
  return `${scope}${e.count.toLocaleString('en-US')} row(s) ${e.what}${examples}${fails ? ': this migration will fail' : ''}.`;
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * Counts the live rows behind data findings (narrowing, NOT NULL, removed ENUM/SET values, new unique
 * keys) and puts the count in front of the finding's message and in its `data`.
 */
export async function addDataEvidence(conn: Connection, schema: string, changes: TableChange[], findings: Finding[],
  options: DataCheckOptions = {}): Promise<void> {
  for (const finding of findings) {
    const change = changes.find((c) => c.kind === 'alter' && c.table === finding.table);
    const clause = change && clauseOf(change, finding);
    if (!change || !clause) continue;
    try {
      await addEvidence(conn, schema, change, clause, finding, options);
    } catch (err) {
      // A count is evidence, not a condition of the plan: say that it is missing, and why.
      finding.message = `(The live rows could not be counted: ${(err as Error).message.slice(0, 200)}.) ${finding.message}`;
    }
  }
}

async function addEvidence(conn: Connection, schema: string, change: TableChange, clause: AlterClause, finding: Finding,
  options: DataCheckOptions): Promise<void> {
  const counter = new Counter(conn, schema, change.table, change.before!, options);
  if (finding.code === 'SB201') {
    const index = change.after!.indexes.find((i) => i.name === clause.target);
    if (!index) return;
    // The key's columns under their live names (the change may rename them).
    const liveName = new Map([...change.renames ?? []].map(([from, to]) => [to, from]));
    const parts = index.parts.map((p) => p.replace(/^`((?:[^`]|``)+)`/, (_, quoted: string) => {
      const name = quoted.replace(/``/g, '`');
      return quoteIdent(liveName.get(name) ?? name);
    }));
    finding.data = await counter.duplicates(parts, index.name);
    finding.message = `${capitalize(describeEvidence(finding.data, true))} ${finding.message}`;
    return;
  }
  const check = rowCheckFor(finding, clause);
  if (!check) return;
  finding.data = await counter.rows(check, [clause.from ?? clause.target]);
  finding.message = `${capitalize(describeEvidence(finding.data, check.fails))} ${finding.message}`;
}
