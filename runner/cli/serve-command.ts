// `schemabot serve --config F`: the long-running runner. One process holds the deploy worker (which
// claims and drives deploys from the state tables) and the HTTP API with /metrics; SIGINT or SIGTERM
// stops taking requests, then stops the worker and closes its connections. With --app the GitHub App
// (app/) runs in the same process on its own port, bound to this runner (see docs/app.md).
import type { AddressInfo } from 'node:net';
import { Command } from 'commander';
import { DeployService } from '../queue/deploy-service.ts';
import { configSecrets, loadConfig, runnerOptionsOf } from '../server/config.ts';
import { buildServer } from '../server/http-server.ts';
import { createMetrics } from '../server/metrics.ts';

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the runner: deploy worker, HTTP API (/v1, bearer tokens) and Prometheus /metrics')
    .requiredOption('--config <file>', 'runner config (YAML or JSON): listen, tokens, targets; secrets come from environment variables')
    .option('--app', 'also run the GitHub App (APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, PORT… from the environment)')
    .action(async (opts: { config: string; app?: boolean }) => {
      const config = loadConfig(opts.config);
      const metrics = createMetrics();
      const service = new DeployService({ ...runnerOptionsOf(config), observer: metrics.observer });
      const app = buildServer({ service, tokens: config.tokens, metrics, log: { secrets: configSecrets(config) } });
      let githubApp: { stop(): Promise<void> } | undefined;
      try {
        await app.listen(config.listen);
        service.startWorker();
        if (opts.app) githubApp = await startLocalApp(app.server.address(), config.tokens);
        app.log.info({ targets: Object.keys(config.targets), tokens: config.tokens.map((t) => t.name) }, 'runner started');
        const signal = await new Promise<string>((resolve) => {
          process.once('SIGINT', () => resolve('SIGINT'));
          process.once('SIGTERM', () => resolve('SIGTERM'));
        });
        app.log.info(`${signal}: stopping`);
      } finally {
        await githubApp?.stop();
        await app.close();
        await service.stop();
      }
    });
}

/** The App, bound to this runner under the environment variable of each of its tokens. */
async function startLocalApp(address: string | AddressInfo | null, tokens: { value: string }[]): Promise<{ stop(): Promise<void> }> {
  const { appOptionsFromEnv } = await import('../../app/app-env.ts');
  const { startAppServer } = await import('../../app/app-server.ts');
  const { address: host, port } = address as AddressInfo;
  const url = `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host}:${port}`;
  const bindings = Object.entries(process.env).filter(([, value]) => tokens.some((t) => t.value === value))
    .map(([tokenEnv, token]) => ({ tokenEnv, url, token: token! }));
  return startAppServer(appOptionsFromEnv(process.env, bindings));
}
