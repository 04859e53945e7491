// `schemabot serve --config F`: the long-running runner. One process holds the deploy worker (which
// claims and drives deploys from the state tables) and the HTTP API with /metrics; SIGINT or SIGTERM
// stops taking requests, then stops the worker and closes its connections.
import { Command } from 'commander';
import { DeployService } from '../queue/deploy-service.ts';
import { configSecrets, loadConfig, runnerOptionsOf } from '../server/config.ts';
import { buildServer } from '../server/http-server.ts';
import { createMetrics } from '../server/metrics.ts';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the runner: deploy worker, HTTP API (/v1, bearer tokens) and Prometheus /metrics')
    .requiredOption('--config <file>', 'runner config (YAML or JSON): listen, tokens, targets; secrets come from environment variables')
    .action(async (opts: { config: string }) => {
      const config = loadConfig(opts.config);
      const metrics = createMetrics();
      const service = new DeployService({ ...runnerOptionsOf(config), observer: metrics.observer });
      const app = buildServer({ service, tokens: config.tokens, metrics, log: { secrets: configSecrets(config) } });
      try {
        await app.listen(config.listen);
        service.startWorker();
        app.log.info({ targets: Object.keys(config.targets), tokens: config.tokens.map((t) => t.name) }, 'runner started');
        const signal = await new Promise<string>((resolve) => {
          process.once('SIGINT', () => resolve('SIGINT'));
          process.once('SIGTERM', () => resolve('SIGTERM'));
        });
        app.log.info(`${signal}: stopping`);
      } finally {
        await app.close();
        await service.stop();
      }
    });
}
