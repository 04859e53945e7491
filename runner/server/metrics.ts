// Prometheus metrics on a private registry. Deploy and migration gauges are recomputed from the
// state tables at each scrape (non-final deploys only), so every runner reports the same durable
// truth; throttling, cut-over stalls and copied rows are fed by the worker through WorkerObserver.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DEPLOY_STATES, FINAL_STATES, type DeployState, type RunnerService, type WorkerObserver } from '../queue/deploy-model.ts';

export const ACTIVE_STATES: DeployState[] = DEPLOY_STATES.filter((s) => !FINAL_STATES.includes(s));

export interface RunnerMetrics {
  registry: Registry;
  observer: WorkerObserver;
  /** Refreshes the gauges from the service and returns the exposition text. */
  scrape(service: Pick<RunnerService, 'list'>): Promise<string>;
}

export function createMetrics(): RunnerMetrics {
  const registry = new Registry();
  const deploys = new Gauge({ name: 'schemabot_deploys', help: 'Non-final deploys by state', labelNames: ['state'], registers: [registry] });
  const migrationLabels = ['target', 'deploy', 'table'] as const;
  const rowsCopied = new Gauge({
    name: 'schemabot_migration_rows_copied', help: 'Rows copied so far by a migration of a non-final deploy',
    labelNames: migrationLabels, registers: [registry],
  });
  const rowsTotal = new Gauge({
    name: 'schemabot_migration_rows_total', help: 'Estimated rows to copy for a migration of a non-final deploy',
    labelNames: migrationLabels, registers: [registry],
  });
  const lag = new Gauge({
    name: 'schemabot_migration_lag_ms', help: 'Binlog applier lag of a migration of a non-final deploy, milliseconds',
    labelNames: migrationLabels, registers: [registry],
  });
  const throttled = new Counter({
    name: 'schemabot_throttled_seconds_total', help: 'Seconds the copy waited, by kind of throttle reason',
    labelNames: ['reason'], registers: [registry],
  });
  const stall = new Histogram({
    name: 'schemabot_cutover_stall_seconds', help: 'How long writers were blocked by a cut-over',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry],
  });
  const copied = new Counter({
    name: 'schemabot_rows_copied_total', help: 'Rows copied by this runner process', registers: [registry],
  });

  const observer: WorkerObserver = {
    cutOverStall: (ms) => stall.observe(ms / 1000),
    throttled: (seconds, reason) => throttled.inc({ reason: throttleKind(reason) }, seconds),
    rowsCopied: (rows) => copied.inc(rows),
  };

  async function scrape(service: Pick<RunnerService, 'list'>): Promise<string> {
    const active = await service.list({ states: ACTIVE_STATES });
    for (const gauge of [deploys, rowsCopied, rowsTotal, lag]) gauge.reset();
    for (const state of ACTIVE_STATES) deploys.set({ state }, active.filter((d) => d.state === state).length);
    for (const deploy of active) {
      for (const m of deploy.migrations.filter((x) => x.method === 'online')) {
        const labels = { target: deploy.target, deploy: deploy.id, table: m.table };
        rowsCopied.set(labels, m.rowsCopied);
        rowsTotal.set(labels, m.rowsTotal);
        lag.set(labels, m.lagMs);
      }
    }
    return registry.metrics();
  }

  return { registry, observer, scrape };
}

/** A bounded label for a free-text throttle reason (which names replicas, thresholds, queries). */
export function throttleKind(reason: string): string {
  if (/check failed|checks kept failing/i.test(reason)) return 'check-failed';
  if (/threads_running/i.test(reason)) return 'threads-running';
  if (/^replica\b|\blag\b/i.test(reason)) return 'replica-lag';
  if (/paused/i.test(reason)) return 'paused';
  if (/custom|query/i.test(reason)) return 'custom-query';
  return 'other';
}
