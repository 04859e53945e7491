// Runs the App: Probot's HTTP server (signed webhooks at /api/github/webhooks, GET /ping) plus
// GET /healthz, with the App's logger and Octokit settings, and the reconciler that brings GitHub up to
// date with the runners. Used by `schemabot serve --app`, the standalone entry (app/main.ts) and tests.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Probot, Server } from 'probot';
import { createAppLogger } from './app-logger.ts';
import { schemabotOctokit, type GitHubTuning } from './github-octokit.ts';
import type { RunnerRegistry } from './runner-registry.ts';
import { createSchemabotApp, type ReconcileTuning } from './schemabot-app.ts';

export interface AppServerOptions {
  appId: number | string;
  privateKey: string;
  webhookSecret: string;
  /** GitHub's REST API; `https://api.github.com` by default, `https://HOST/api/v3` for GitHub Enterprise Server. */
  baseUrl?: string;
  host?: string;
  port?: number;
  registry: RunnerRegistry;
  github?: GitHubTuning;
  reconcile?: ReconcileTuning;
  /** A logger of your own; otherwise JSON lines on stdout with every credential scrubbed. */
  log?: Logger;
  logLevel?: string;
}

export interface RunningApp {
  /** http://host:port */
  url: string;
  log: Logger;
  stop(): Promise<void>;
}

/** Probot's server treats port 0 as "use 3000": an ephemeral port is picked here instead. */
async function freePort(host: string): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, host, resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

function healthz(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'GET' || req.url?.split('?')[0] !== '/healthz') return false;
  res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  return true;
}

export async function startAppServer(options: AppServerOptions): Promise<RunningApp> {
  if (!options.webhookSecret) throw new Error('WEBHOOK_SECRET is required: unsigned webhooks are never accepted');
  const log = options.log ?? createAppLogger({
    level: options.logLevel, secrets: [...options.registry.secrets(), options.webhookSecret],
  });
  const schemabot = createSchemabotApp({ registry: options.registry, reconcile: options.reconcile, webhookSecret: options.webhookSecret });
  const host = options.host ?? '127.0.0.1';
  const server = new Server({
    host,
    port: options.port === 0 ? await freePort(host) : options.port ?? 3000,
    log,
    enableStaticFiles: false,
    Probot: Probot.defaults({
      appId: options.appId, privateKey: options.privateKey, secret: options.webhookSecret, log,
      ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
      Octokit: schemabotOctokit(options.github),
    }),
  });
  await server.load((app, { addHandler }) => {
    addHandler(healthz);
    return schemabot.load(app);
  });
  await server.start();
  return {
    url: `http://${server.host}:${server.port}`,
    log,
    async stop() {
      await schemabot.stop();
      await server.stop();
    },
  };
}
