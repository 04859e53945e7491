// A plan as Markdown for a pull-request comment: the SQL that will run, an impact table, the lint
// findings with their file lines, drift, all under GitHub's 65,535-character limit.
import type { Finding } from './lint.ts';
import type { ChangeSummary, Plan, PlannedChange } from './planner.ts';

export const GITHUB_COMMENT_LIMIT = 65_535;
const BUDGET = GITHUB_COMMENT_LIMIT - 1_000;

const ICON: Record<Finding['severity'], string> = { error: '❌ error', warning: '⚠️ warning', notice: 'ℹ️ notice' };

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 1) return '< 1 s';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const METHOD: Record<PlannedChange['impact']['method'], string> = {
  create: 'create table', drop: 'drop table', instant: 'INSTANT (metadata only)', inplace: 'INPLACE (online, no copy)',
  'online-migration': 'table copy → online migration', copy: 'table copy by the server (blocks writes)',
};

/*
 * Names, SQL and messages come from pull-request files: everything they hold must stay text. Code
 * spans and fences are made longer than any backtick run inside them; other text has Markdown, HTML,
 * mentions and issue references escaped, keeping the `code spans` that messages use for names.
 */
function longestBacktickRun(text: string): number {
  return Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
}

/** A code span for any text. */
export function code(text: string): string {
  const fence = '`'.repeat(longestBacktickRun(text) + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text.replace(/\n/g, ' ')}${pad}${fence}`;
}

/**
 * One line of prose. Only what CommonMark itself reads as a one-backtick code span is kept as code;
 * every other backtick is escaped with the rest, so no stray one can open or close a span.
 */
export function inline(text: string): string {
  return text.replace(/\n/g, ' ').split(/((?<!`)`[^`]+`(?!`))/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/[\\`*_[\]<>@#!~&]/g, '\\$&'))).join('');
}

/** Markdown for a table cell: GitHub reads `|` as a cell border even inside a code span. */
function cell(markdown: string): string {
  return markdown.replace(/\|/g, '\\|');
}

function sqlBlock(statements: string[], maxChars: number): string {
  let sql = statements.map((s) => `${s};`).join('\n');
  if (sql.length > maxChars) sql = `${sql.slice(0, maxChars)}\n-- … truncated (${sql.length} characters); see schemabot plan --json`;
  const fence = '`'.repeat(Math.max(3, longestBacktickRun(sql) + 1));
  return `${fence}sql\n${sql}\n${fence}`;
}

function renderChange(change: PlannedChange, maxSql: number): string {
  const where = change.path ? ` — ${code(`${change.path}${change.line ? `:${change.line}` : ''}`)}` : '';
  const lines = [`### ${code(change.table)}: ${change.kind.toUpperCase()}${where}`, '', sqlBlock(change.statements, maxSql), ''];
  if (change.error) {
    lines.push(`> ❌ **Cannot be applied**: ${inline(change.error.split('\n')[0])}`, '');
  }
  lines.push(`Locks: ${change.locks}.${change.impact.blockingReason ? ` Not online: ${inline(change.impact.blockingReason)}.` : ''}`, '');
  for (const note of change.notes ?? []) lines.push(`> ${inline(note)}`, '');
  if (change.definition && change.kind === 'alter') {
    lines.push('<details>', '<summary>Resulting definition</summary>', '', sqlBlock([change.definition], maxSql), '', '</details>', '');
  }
  return lines.join('\n');
}

function impactTable(changes: PlannedChange[]): string {
  const rows = changes.map((c) => `| ${cell(code(c.table))} | ${METHOD[c.impact.method]} | ${c.impact.rows.toLocaleString('en-US')} | `
    + `${formatBytes(c.impact.dataBytes)} + ${formatBytes(c.impact.indexBytes)} | ${c.impact.headroomBytes ? formatBytes(c.impact.headroomBytes) : '–'} | `
    + `${c.impact.etaSeconds ? `${formatSeconds(c.impact.etaSeconds)}${c.impact.rateSource === 'assumed' ? ' (assumed rate)' : ''}` : '–'} |`);
  return ['| table | how it runs | rows | data + indexes | disk headroom | ETA |', '|---|---|---:|---:|---:|---:|', ...rows].join('\n');
}

function findingsTable(findings: Finding[]): string {
  const rows = findings.map((f) => `| ${ICON[f.severity]} | \`${f.code}\` ${f.rule} | ${cell(f.path ? code(`${f.path}${f.line ? `:${f.line}` : ''}`) : code(f.table))} | ${cell(inline(f.message))} |`);
  return ['| severity | rule | where | finding |', '|---|---|---|---|', ...rows].join('\n');
}

function summaryList(title: string, changes: ChangeSummary[], maxSql: number): string {
  if (changes.length === 0) return '';
  return ['<details>', `<summary>${title} (${changes.length})</summary>`, '',
    ...changes.map((c) => `**${code(c.table)}** (${c.kind})\n\n${sqlBlock(c.statements, maxSql)}\n`), '</details>', ''].join('\n');
}

export function countBySeverity(plan: Plan): Record<Finding['severity'], number> {
  const counts = { error: plan.errors.length, warning: 0, notice: 0 };
  for (const f of plan.findings) counts[f.severity]++;
  counts.error += plan.changes.filter((c) => c.error).length;
  return counts;
}

function render(plan: Plan, maxSql: number): string {
  const counts = countBySeverity(plan);
  const online = plan.changes.filter((c) => c.impact.method === 'online-migration').length;
  const out = [
    `## schemabot plan for ${code(plan.database)}`, '',
    `${plan.changes.length} change(s), ${online} online migration(s) · ${counts.error} error(s), ${counts.warning} warning(s), `
      + `${counts.notice} notice(s) · server ${plan.serverVersion}`, '',
  ];
  if (plan.errors.length > 0) {
    out.push('### Files that do not load', '', ...plan.errors.map((e) => `- ❌ ${code(`${e.path}:${e.line}`)}: ${inline(e.message)}`), '');
  }
  if (plan.changes.length === 0) out.push('The live database already matches `schemas/`: nothing to do.', '');
  else out.push(impactTable(plan.changes), '', ...plan.changes.map((c) => renderChange(c, maxSql)));
  if (plan.findings.length > 0) out.push('### Lint', '', findingsTable(plan.findings), '');
  if (plan.debt?.length) {
    out.push('<details>', `<summary>Existing debt: ${plan.debt.length} finding(s) already true before this change, not judged</summary>`, '',
      findingsTable(plan.debt), '', '</details>', '');
  }
  for (const note of plan.workspace?.notes ?? []) out.push(`> ⚠️ ${inline(note)}`, '');
  if (plan.pullRequest) out.push(summaryList('What this pull request changes', plan.pullRequest, maxSql));
  if (plan.drift?.length) out.push(summaryList('⚠️ Drift: the live database differs from the base branch', plan.drift, maxSql));
  return out.join('\n');
}

/** Shrinks SQL blocks until the comment fits; as a last resort cuts the text with a note. */
export function renderPlanMarkdown(plan: Plan): string {
  for (const maxSql of [Number.POSITIVE_INFINITY, 4_000, 1_000, 200]) {
    const text = render(plan, maxSql);
    if (text.length <= BUDGET) return text;
  }
  const text = render(plan, 200);
  return `${text.slice(0, BUDGET)}\n\n… the plan is too long for one comment; run \`schemabot plan --json\` for all of it.`;
}
