// What the demo runs on this machine, each part as it runs in production, talking over HTTP: the runner
// (deploy worker + HTTP API, bearer token) on the demo database, a local GitHub with the App registered
// and installed on one repository, and the App (Probot) bound to the runner, receiving signed webhooks.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createAppLogger } from '../../../app/app-logger.ts';
import { startAppServer, type RunningApp } from '../../../app/app-server.ts';
import { registerApp } from '../../../app/local-github/app-registration.ts';
import { LocalGitHub } from '../../../app/local-github/local-github.ts';
import { RunnerRegistry } from '../../../app/runner-registry.ts';
import type { ConnectionTarget } from '../../db/dsn.ts';
import { DeployService } from '../../queue/deploy-service.ts';
import { buildServer } from '../../server/http-server.ts';
import { createMetrics } from '../../server/metrics.ts';

export const DEMO_TARGET = 'demo';
export const RUNNER_TOKEN_ENV = 'SCHEMABOT_RUNNER_TOKEN_DEMO';

export interface DemoPace {
  /** How often the App compares the runner's deploys with GitHub (5 s in production). */
  reconcileMs: number;
  /** At most one progress update per check run this often (15 s in production, for GitHub's limits). */
  progressMs: number;
}

export interface DemoStack {
  service: DeployService;
  runnerUrl: string;
  github: LocalGitHub;
  app: RunningApp;
  close(): Promise<void>;
}

/** The App's log: warnings and errors only, on stderr, credentials scrubbed. */
function quietAppLog(secrets: string[]) {
  return createAppLogger({ level: 'warn', secrets, stream: process.stderr });
}

async function startRunner(target: ConnectionTarget, stateSchema: string, token: string): Promise<{ service: DeployService; http: FastifyInstance; url: string }> {
  const service = new DeployService({ targets: { [DEMO_TARGET]: target }, stateSchema, pollMs: 200 });
  const http = buildServer({ service, tokens: [{ name: 'github-app', value: token }], metrics: createMetrics(), log: { level: 'warn', secrets: [token], stream: process.stderr } });
  const url = await http.listen({ host: '127.0.0.1', port: 0 });
  service.startWorker();
  return { service, http, url };
}

/** `stateSchema`: where the runner keeps its deploys (`_schemabot` in a real install). */
export async function startDemoStack(target: ConnectionTarget, stateSchema: string, pace: DemoPace): Promise<DemoStack> {
  const token = randomBytes(24).toString('hex');
  const runner = await startRunner(target, stateSchema, token);
  const stopRunner = async () => {
    await runner.http.close();
    await runner.service.stop();
  };
  let github: LocalGitHub | undefined;
  try {
    github = await new LocalGitHub('acme', 'shop', registerApp(1)).start();
    const app = await startAppServer({
      appId: github.app.id, privateKey: github.app.privateKey, webhookSecret: github.app.webhookSecret, baseUrl: github.url, port: 0,
      registry: new RunnerRegistry([{ tokenEnv: RUNNER_TOKEN_ENV, url: runner.url, token }]),
      // This GitHub is local: no write pacing needed.
      github: { throttle: false },
      reconcile: { intervalMs: pace.reconcileMs, progressIntervalMs: pace.progressMs },
      log: quietAppLog([token, github.app.webhookSecret]),
    });
    github.hookUrl = `${app.url}/api/github/webhooks`;
    const local = github;
    return {
      service: runner.service, runnerUrl: runner.url, github, app,
      async close() {
        await app.stop();
        await local.close();
        await stopRunner();
      },
    };
  } catch (err) {
    await github?.close();
    await stopRunner();
    throw err;
  }
}
