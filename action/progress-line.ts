// One log line for where a deploy stands: its state and overall percent, then each migration with
// the figures a release manager watches (stage, percent, rows copied/total, rows/s, lag, throttle
// reason, blocker, ETA). Table names and errors come from pull requests: they are kept to one line.
import type { DeployView, MigrationView } from '../runner/client/runner-client.ts';
import { oneLine } from './log-text.ts';

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatLag(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Stages in which the copy and the binlog applier run, so that rate and lag mean something. */
const MOVING: ReadonlySet<MigrationView['stage']> = new Set(['copying', 'building-indexes', 'catching-up', 'verifying', 'ready-to-cutover', 'cutting-over']);

function describeMigration(m: MigrationView): string {
  const parts = [`\`${oneLine(m.table, 80)}\` ${m.stage}`];
  if (m.method === 'online' && MOVING.has(m.stage)) {
    parts.push(`${m.percent.toFixed(1)}% (${count(m.rowsCopied)}/${count(m.rowsTotal)} rows, ${count(m.rowsPerSecond)} rows/s)`, `lag ${formatLag(m.lagMs)}`);
  } else if (m.method === 'online' && m.rowsCopied > 0) {
    parts.push(`${count(m.rowsCopied)} rows copied`);
  }
  if (m.throttle) parts.push(`throttled: ${oneLine(m.throttle, 120)}`);
  if (m.blocker) parts.push(`waiting on ${oneLine(m.blocker, 200)}`);
  if (m.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(m.etaSeconds)}`);
  if (m.error) parts.push(`error: ${oneLine(m.error, 300)}`);
  return parts.join(', ');
}

export function describeDeploy(deploy: DeployView): string {
  const head = [`${deploy.id} ${deploy.state} ${deploy.percent.toFixed(0)}%`];
  if (deploy.paused) head.push('(paused)');
  if (deploy.etaSeconds !== undefined) head.push(`ETA ${formatDuration(deploy.etaSeconds)}`);
  const migrations = deploy.migrations.map(describeMigration).join('; ');
  return migrations ? `${head.join(' ')}: ${migrations}` : head.join(' ');
}

/** What counts as a change worth a line at once: the deploy's state, pause, and each migration's stage. */
export function stateKey(deploy: DeployView): string {
  return [deploy.state, deploy.paused, ...deploy.migrations.map((m) => m.stage)].join('|');
}
