// Everything the App's end-to-end tests run against, all real and local: a runner (HTTP API + worker)
// on the test MariaDB, the local GitHub (app/local-github/), and the App's Probot server, to which
// signed webhooks are delivered over HTTP. Log lines of the App are kept to check that no credential
// reaches them.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll } from 'vitest';
import type { ConnectionTarget } from '../../runner/db/dsn.ts';
import { DeployService } from '../../runner/queue/deploy-service.ts';
import type { MigrationTuning } from '../../runner/queue/migration-driver.ts';
import { buildServer } from '../../runner/server/http-server.ts';
import { createMetrics } from '../../runner/server/metrics.ts';
import { createAppLogger } from '../../app/app-logger.ts';
import { startAppServer, type RunningApp } from '../../app/app-server.ts';
import { RunnerRegistry } from '../../app/runner-registry.ts';
import type { ReconcileTuning } from '../../app/schemabot-app.ts';
import { registerApp } from '../../app/local-github/app-registration.ts';
import { LocalGitHub } from '../../app/local-github/local-github.ts';
import { deliverWebhook } from '../../app/local-github/webhook-delivery.ts';
import { twinFixture, type TwinFixture } from '../support/deploy-fixture.ts';

export const OWNER = 'acme';
export const REPO = 'shop';
export const APP_ID = 4242;
export const INSTALLATION = 77;
export const WEBHOOK_SECRET = 'webhook-secret-for-tests-0123456789';
export const RUNNER_TOKEN_ENV = 'SCHEMABOT_RUNNER_TOKEN_MAIN';

/** The runner as `schemabot serve` runs it: worker plus HTTP API; its HTTP side can be stopped and restarted on the same port. */
export class TestRunner {
  readonly token = `runner-token-${randomBytes(12).toString('hex')}`;
  readonly service: DeployService;
  /** The runner's log lines (printed by a failing test's helper when needed). */
  readonly logs: string[] = [];
  private http: FastifyInstance | undefined;
  private port = 0;
  url = '';

  constructor(target: ConnectionTarget, stateSchema: string, migration: MigrationTuning = {}) {
    this.service = new DeployService({ targets: { main: target }, stateSchema, pollMs: 100, migration });
  }

  async start(): Promise<this> {
    this.service.startWorker();
    await this.startHttp();
    return this;
  }

  async startHttp(): Promise<void> {
    const metrics = createMetrics();
    this.http = buildServer({ service: this.service, tokens: [{ name: 'github-app', value: this.token }], metrics, log: { level: 'warn', secrets: [this.token], stream: { write: (line) => this.logs.push(line) } } });
    await this.http.listen({ host: '127.0.0.1', port: this.port });
    const address = this.http.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  async stopHttp(): Promise<void> {
    await this.http?.close();
    this.http = undefined;
  }

  async close(): Promise<void> {
    await this.stopHttp();
    await this.service.stop();
  }
}

export function repoConfig(runnerUrl: string, options: { cutover?: 'auto' | 'gated'; lint?: string } = {}): string {
  return [
    'schemas:',
    '  - dir: schemas',
    '    environments:',
    '      - name: production',
    `        runner: ${runnerUrl}`,
    `        tokenEnv: ${RUNNER_TOKEN_ENV}`,
    '        target: main',
    `        cutover: ${options.cutover ?? 'auto'}`,
    ...(options.lint ? [`lint: ${options.lint}`] : []),
    '',
  ].join('\n');
}

export interface AppHarness {
  github: LocalGitHub;
  app: RunningApp;
  logs: string[];
  /** Delivers a webhook signed with the App's secret (or `secret`); returns the HTTP status and body. */
  deliver(event: string, payload: object, options?: { id?: string; secret?: string | null }): Promise<{ status: number; text: string }>;
  /** Stops the App and starts a new one (same keys, same fake GitHub, same runner). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startApp(runner: TestRunner, tuning: { reconcile?: ReconcileTuning; throttle?: boolean } = {}): Promise<AppHarness> {
  const github = await new LocalGitHub(OWNER, REPO, registerApp(APP_ID, WEBHOOK_SECRET), INSTALLATION).start();
  // The author of the tests' pull requests: the App plans only for people who may write.
  github.permissions.set('dev', 'write');
  const logs: string[] = [];
  const launch = async () => {
    const app = await startAppServer({
      appId: APP_ID, privateKey: github.app.privateKey, webhookSecret: WEBHOOK_SECRET, baseUrl: github.url, port: 0,
      registry: new RunnerRegistry([{ tokenEnv: RUNNER_TOKEN_ENV, url: runner.url, token: runner.token }], { attempts: 2, retryDelayMs: 20 }),
      github: { retryBaseMs: 5, throttle: tuning.throttle ?? false },
      reconcile: { intervalMs: 200, progressIntervalMs: 300, ...tuning.reconcile },
      log: createAppLogger({ level: 'debug', secrets: [runner.token, WEBHOOK_SECRET], stream: { write: (line) => logs.push(line) } }),
    });
    github.hookUrl = `${app.url}/api/github/webhooks`;
    return app;
  };
  const harness: AppHarness = {
    github, logs, app: await launch(),
    deliver(event, payload, { id, secret = WEBHOOK_SECRET } = {}) {
      return deliverWebhook(github.hookUrl, { event, payload, id, secret });
    },
    async restart() {
      await harness.app.stop();
      harness.app = await launch();
    },
    async close() {
      await harness.app.stop();
      await github.close();
    },
  };
  return harness;
}

/**
 * A switch in its own database that a runner's throttle query reads: while it is 1 the copy waits,
 * so a test can hold a deploy before ready and let it go on.
 */
export class CopyHold {
  private constructor(private readonly conn: Connection, private readonly database: string) {}

  static async create(conn: Connection, database: string): Promise<CopyHold> {
    const hold = new CopyHold(conn, `${database}_hold`);
    await conn.query(`CREATE DATABASE \`${hold.database}\``);
    await conn.query(`CREATE TABLE \`${hold.database}\`.app_hold (hold INT NOT NULL)`);
    await conn.query(`INSERT INTO \`${hold.database}\`.app_hold VALUES (1)`);
    return hold;
  }

  /** The runner tuning: small chunks, and the copy waits while the switch is on. */
  get tuning(): MigrationTuning {
    return { chunkSize: 20, throttleQuery: `SELECT hold FROM \`${this.database}\`.app_hold` };
  }

  async set(on: boolean): Promise<void> {
    await this.conn.query(`UPDATE \`${this.database}\`.app_hold SET hold = ${on ? 1 : 0}`);
  }
}

/** A table and its twin under writes, a runner whose copy can be held, and the App: what the deploy tests share. */
export interface DeployStack {
  fx: TwinFixture;
  hold: CopyHold;
  runner: TestRunner;
  harness: AppHarness;
  /** The runner's state schema. */
  stateSchema: string;
  close(): Promise<void>;
}

/** `tuning` overrides the runner's copy settings (e.g. to slow a copy that a test steps through). */
export async function deployStack(name: string, rows: number, writers: number, tuning: MigrationTuning = {}): Promise<DeployStack> {
  const fx = await twinFixture(rows, writers, 2);
  const hold = await CopyHold.create(fx.conn, fx.target.database);
  const stateSchema = `_sb_app_${name}_${process.pid}`;
  const runner = await new TestRunner(fx.target, stateSchema, { ...hold.tuning, ...tuning }).start();
  const harness = await startApp(runner);
  return {
    fx, hold, runner, harness, stateSchema,
    async close() {
      await harness.close();
      await runner.close();
      await fx.load.stop();
      await fx.conn.end();
    },
  };
}

/** Starts a deploy stack before the file's tests and closes it after them; its fields are set once they run. */
export function useDeployStack(name: string, rows: number, writers: number, tuning?: MigrationTuning): DeployStack {
  const holder = {} as DeployStack;
  beforeAll(async () => {
    Object.assign(holder, await deployStack(name, rows, writers, tuning));
  });
  afterAll(async () => {
    await holder.close?.();
  });
  return holder;
}

/** Polls `check` until it returns a truthy value. */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 60_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
