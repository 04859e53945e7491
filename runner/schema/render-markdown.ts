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

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function sqlBlock(statements: string[], maxChars: number): string {
  let sql = statements.map((s) => `${s};`).join('\n');
  if (sql.length > maxChars) sql = `${sql.slice(0, maxChars)}\n-- … truncated (${sql.length} characters); see schemabot plan --json`;
  return `\`\`\`sql\n${sql}\n\`\`\``;
}

function renderChange(change: PlannedChange, maxSql: number): string {
  const where = change.path ? ` — [${change.path}](${change.path}${change.line ? `#L${change.line}` : ''})` : '';
  const lines = [`### \`${change.table}\`: ${change.kind.toUpperCase()}${where}`, '', sqlBlock(change.statements, maxSql), ''];
  if (change.error) {
    lines.push(`> ❌ **Cannot be applied**: ${escapeCell(change.error.split('\n')[0])}`, '');
  }
  lines.push(`Locks: ${change.locks}.${change.impact.blockingReason ? ` Not online: ${escapeCell(change.impact.blockingReason)}.` : ''}`, '');
  for (const note of change.notes ?? []) lines.push(`> ${escapeCell(note)}`, '');
  if (change.definition && change.kind === 'alter') {
    lines.push('<details>', '<summary>Resulting definition</summary>', '', sqlBlock([change.definition], maxSql), '', '</details>', '');
  }
  return lines.join('\n');
}

function impactTable(changes: PlannedChange[]): string {
  const rows = changes.map((c) => `| \`${c.table}\` | ${METHOD[c.impact.method]} | ${c.impact.rows.toLocaleString('en-US')} | `
    + `${formatBytes(c.impact.dataBytes)} + ${formatBytes(c.impact.indexBytes)} | ${c.impact.headroomBytes ? formatBytes(c.impact.headroomBytes) : '–'} | `
    + `${c.impact.etaSeconds ? `${formatSeconds(c.impact.etaSeconds)}${c.impact.rateSource === 'assumed' ? ' (assumed rate)' : ''}` : '–'} |`);
  return ['| table | how it runs | rows | data + indexes | disk headroom | ETA |', '|---|---|---:|---:|---:|---:|', ...rows].join('\n');
}

function findingsTable(findings: Finding[]): string {
  const rows = findings.map((f) => `| ${ICON[f.severity]} | \`${f.code}\` ${f.rule} | ${f.path ? `${f.path}${f.line ? `:${f.line}` : ''}` : `\`${f.table}\``} | ${escapeCell(f.message)} |`);
  return ['| severity | rule | where | finding |', '|---|---|---|---|', ...rows].join('\n');
}

function summaryList(title: string, changes: ChangeSummary[], maxSql: number): string {
  if (changes.length === 0) return '';
  return ['<details>', `<summary>${title} (${changes.length})</summary>`, '',
    ...changes.map((c) => `**\`${c.table}\`** (${c.kind})\n\n${sqlBlock(c.statements, maxSql)}\n`), '</details>', ''].join('\n');
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
    `## schemabot plan for \`${plan.database}\``, '',
    `${plan.changes.length} change(s), ${online} online migration(s) · ${counts.error} error(s), ${counts.warning} warning(s), `
      + `${counts.notice} notice(s) · server ${plan.serverVersion}`, '',
  ];
  if (plan.errors.length > 0) {
    out.push('### Files that do not load', '', ...plan.errors.map((e) => `- ❌ ${e.path}:${e.line}: ${escapeCell(e.message)}`), '');
  }
  if (plan.changes.length === 0) out.push('The live database already matches `schemas/`: nothing to do.', '');
  else out.push(impactTable(plan.changes), '', ...plan.changes.map((c) => renderChange(c, maxSql)));
  if (plan.findings.length > 0) out.push('### Lint', '', findingsTable(plan.findings), '');
  if (plan.debt?.length) {
    out.push('<details>', `<summary>Existing debt: ${plan.debt.length} finding(s) already true before this change, not judged</summary>`, '',
      findingsTable(plan.debt), '', '</details>', '');
  }
  for (const note of plan.workspace?.notes ?? []) out.push(`> ⚠️ ${escapeCell(note)}`, '');
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
