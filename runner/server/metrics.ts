// Prometheus metrics on a private registry. Deploy and migration gauges are recomputed from the
// state tables at each scrape (non-final deploys only, target by target), so every runner reports
// the same durable truth; throttling, cut-over stalls and copied rows come from the worker through
// the WorkerObserver this module provides.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ACTIVE_STATES, type DeployView, type RunnerService, type WorkerObserver } from '../queue/deploy-model.ts';

const MAX_SCRAPED_DEPLOYS = 1000;


export interface RunnerMetrics {
  registry: Registry;
  observer: WorkerObserver;
  /**
   * Refreshes the gauges from the service, target by target, and returns the exposition text. A
   * target whose state cannot be read reports `schemabot_target_up 0` and goes to `onError`.
   */
  scrape(service: Pick<RunnerService, 'list' | 'targets'>, onError: (target: string, err: unknown) => void): Promise<string>;
}

export function createMetrics(): RunnerMetrics {
  const registry = new Registry();
  const up = new Gauge({
    name: 'schemabot_target_up', help: "1 when the target's state tables could be read at this scrape", labelNames: ['target'], registers: [registry],
  });
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
    name: 'schemabot_throttled_seconds_total', help: 'Seconds a migration was held (its copy, its index build, or a paused cut-over), by kind of throttle reason',
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

  async function scrape(service: Pick<RunnerService, 'list' | 'targets'>, onError: (target: string, err: unknown) => void): Promise<string> {
    const active: DeployView[] = [];
    for (const target of service.targets()) {
      try {
        active.push(...await service.list({ target, states: ACTIVE_STATES, limit: MAX_SCRAPED_DEPLOYS }));
        up.set({ target }, 1);
      } catch (err) {
        up.set({ target }, 0);
        onError(target, err);
      }
    }
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

/** A bounded label for a free-text throttle reason (which names replicas, thresholds, people). */
export function throttleKind(reason: string): string {
  if (/^paused\b/.test(reason)) return 'paused';
  if (/^throttle check/.test(reason)) return 'check-failed';
  if (/^Threads_running/.test(reason)) return 'threads-running';
  if (/^replica\b/.test(reason)) return 'replica-lag';
  return 'other';
}
