// A deploy as GitHub shows it: the check run's status, conclusion, title and summary (state, percent,
// rows copied/total, rows/s, lag, throttle reason, blocker, ETA per table), the one-line status of the
// sticky comment and of protection-rule reports, and the GitHub deployment state.
import type { DeployView, MigrationView } from '../runner/client/runner-client.ts';
import { md } from './markdown.ts';

export type CheckStatus = 'queued' | 'in_progress' | 'completed';
export type CheckConclusion = 'success' | 'failure' | 'cancelled' | 'neutral' | 'action_required';

export interface CheckState {
  status: CheckStatus;
  conclusion?: CheckConclusion;
  title: string;
  summary: string;
}

export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const firstLine = (text: string) => text.split('\n')[0].slice(0, 300);

/** The stage a running deploy is in: its slowest online migration's, else the deploy's state. */
function stageOf(deploy: DeployView): string {
  const online = deploy.migrations.filter((m) => m.method === 'online' && m.stage !== 'complete');
  const stage = online[0]?.stage ?? deploy.state;
  return stage === 'queued' ? 'starting' : stage;
}

/** `copying 43%, ETA 6 min`: what a deploy is doing, in a few words. */
export function statusLine(deploy: DeployView): string {
  switch (deploy.state) {
    case 'queued': return 'queued';
    case 'running':
    case 'reverting': {
      const eta = deploy.etaSeconds ? `, ETA ${formatDuration(deploy.etaSeconds)}` : '';
      const throttle = deploy.migrations.find((m) => m.throttle)?.throttle;
      return `${deploy.state === 'reverting' ? 'reverting' : stageOf(deploy)} ${Math.floor(deploy.percent)}%${eta}${throttle ? `, throttled (${throttle})` : ''}`;
    }
    case 'ready-to-cutover':
      if (deploy.paused) return 'ready to cut over, paused: cuts over once resumed';
      return deploy.cutover === 'gated' && !deploy.cutoverRequestedBy ? 'ready to cut over, waiting for release' : 'ready, cutting over';
    case 'cutting-over': return 'cutting over';
    case 'complete': return deploy.error ? `complete (revert failed: ${firstLine(deploy.error)})` : 'complete';
    case 'reverted': return 'reverted';
    case 'failed': return `failed: ${firstLine(deploy.error ?? 'see the runner log')}`;
    case 'aborted': return 'aborted';
  }
}

function migrationRow(m: MigrationView): string {
  const cells = [
    md(m.table), m.method === 'online' ? 'online copy' : md(m.algorithm ?? m.method), m.stage,
    m.method === 'online' ? `${Math.floor(m.percent)}%` : '–',
    m.rowsTotal ? `${m.rowsCopied.toLocaleString('en-US')} / ${m.rowsTotal.toLocaleString('en-US')}` : '–',
    m.rowsPerSecond ? Math.round(m.rowsPerSecond).toLocaleString('en-US') : '–',
    m.lagMs !== undefined && m.method === 'online' ? `${m.lagMs} ms` : '–',
    m.throttle ? md(m.throttle) : '–',
    m.etaSeconds ? formatDuration(m.etaSeconds) : '–',
  ];
  return `| ${cells.join(' | ')} |`;
}

export function deploySummary(deploy: DeployView, extraLines: string[] = []): string {
  const lines = [
    `**${md(statusLine(deploy))}** · deploy \`${md(deploy.id)}\` on ${md(deploy.database)} · cut-over ${deploy.cutover} · submitted by ${md(deploy.submittedBy)}`,
    '',
    '| table | how | stage | progress | rows copied / total | rows/s | lag | throttle | ETA |',
    '|---|---|---|---:|---:|---:|---:|---|---:|',
    ...deploy.migrations.map(migrationRow),
  ];
  const blockers = deploy.migrations.filter((m) => m.blocker).map((m) => `- ${md(m.table)} waits on: ${md(String(m.blocker))}`);
  if (blockers.length) lines.push('', '**Cut-over blocked**', ...blockers);
  if (deploy.error) lines.push('', `**Error**: ${md(deploy.error.slice(0, 2000))}`);
  if (deploy.cutoverRequestedBy) lines.push('', `Cut-over released by ${md(deploy.cutoverRequestedBy)}.`);
  return [...lines, ...extraLines].join('\n');
}

/** The `schemabot/deploy` check run for the deploy as it is now. */
export function deployCheck(deploy: DeployView, extraLines: string[] = []): CheckState {
  const title = statusLine(deploy).slice(0, 250);
  const summary = deploySummary(deploy, extraLines);
  switch (deploy.state) {
    case 'queued': return { status: 'queued', title, summary };
    case 'failed': return { status: 'completed', conclusion: 'failure', title, summary };
    case 'aborted': return { status: 'completed', conclusion: 'cancelled', title, summary };
    case 'complete':
    case 'reverting':
    case 'reverted': return { status: 'completed', conclusion: 'success', title: 'complete', summary };
    default: return { status: 'in_progress', title, summary };
  }
}

/** The `schemabot/revert` check run, once a revert was requested. */
export function revertCheck(deploy: DeployView, impact: string[]): CheckState {
  const summary = deploySummary(deploy, impact.length ? ['', '**What the revert loses**', ...impact.map((l) => `- ${md(l)}`)] : []);
  if (deploy.state === 'reverting') return { status: 'in_progress', title: statusLine(deploy), summary };
  if (deploy.state === 'reverted') return { status: 'completed', conclusion: 'success', title: 'reverted', summary };
  return { status: 'completed', conclusion: deploy.error ? 'failure' : 'success', title: statusLine(deploy).slice(0, 250), summary };
}

export type DeploymentState = 'queued' | 'in_progress' | 'success' | 'failure' | 'inactive';

export function deploymentState(deploy: DeployView): DeploymentState {
  switch (deploy.state) {
    case 'queued': return 'queued';
    case 'complete': return 'success';
    case 'reverted': return 'inactive';
    case 'failed':
    case 'aborted': return 'failure';
    default: return 'in_progress';
  }
}

export function isFinal(deploy: DeployView): boolean {
  return ['complete', 'reverted', 'failed', 'aborted'].includes(deploy.state);
}
