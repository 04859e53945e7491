// Everything the App's end-to-end tests run against, all real and local: a runner (HTTP API + worker)
// on the test MariaDB, the fake GitHub, and the App's Probot server, to which signed webhooks are
// delivered over HTTP. Log lines of the App are kept to check that no credential reaches them.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Connection } from 'mysql2/promise';
import { sign } from '@octokit/webhooks-methods';
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
import { twinFixture, type TwinFixture } from '../support/deploy-fixture.ts';
import { FakeGitHub } from './fake-github.ts';

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
  github: FakeGitHub;
  app: RunningApp;
  logs: string[];
  /** Delivers a webhook signed with the App's secret (or `secret`); returns the HTTP status and body. */
  deliver(event: string, payload: object, options?: { id?: string; secret?: string | null }): Promise<{ status: number; text: string }>;
  /** Stops the App and starts a new one (same keys, same fake GitHub, same runner). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startApp(runner: TestRunner, tuning: { reconcile?: ReconcileTuning; throttle?: boolean } = {}): Promise<AppHarness> {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const github = await new FakeGitHub(OWNER, REPO, APP_ID, keys.publicKey).start();
  const logs: string[] = [];
  const launch = () => startAppServer({
    appId: APP_ID, privateKey: keys.privateKey, webhookSecret: WEBHOOK_SECRET, baseUrl: github.url, port: 0,
    registry: new RunnerRegistry([{ tokenEnv: RUNNER_TOKEN_ENV, url: runner.url, token: runner.token }], { attempts: 2, retryDelayMs: 20 }),
    github: { retryBaseMs: 5, throttle: tuning.throttle ?? false },
    reconcile: { intervalMs: 200, progressIntervalMs: 300, ...tuning.reconcile },
    log: createAppLogger({ level: 'debug', secrets: [runner.token, WEBHOOK_SECRET], stream: { write: (line) => logs.push(line) } }),
  });
  const harness: AppHarness = {
    github, logs, app: await launch(),
    async deliver(event, payload, { id = randomBytes(8).toString('hex'), secret = WEBHOOK_SECRET } = {}) {
      const body = JSON.stringify(payload);
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-github-event': event, 'x-github-delivery': id };
      if (secret !== null) headers['x-hub-signature-256'] = await sign(secret, body);
      const res = await fetch(`${harness.app.url}/api/github/webhooks`, { method: 'POST', headers, body });
      return { status: res.status, text: await res.text() };
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

const repository = { id: 1, name: REPO, full_name: `${OWNER}/${REPO}`, owner: { login: OWNER, type: 'Organization' }, default_branch: 'main' };
const installation = { id: INSTALLATION };

export function pullRequestEvent(action: string, github: FakeGitHub, number: number, extra: { merged?: boolean; mergedBy?: string } = {}): object {
  const pull = github.pulls.get(number)!;
  return {
    action, number, repository, installation, sender: { login: 'dev', type: 'User' },
    pull_request: {
      number, state: action === 'closed' ? 'closed' : 'open', merged: extra.merged ?? false, merge_commit_sha: pull.merged ?? null,
      merged_by: extra.mergedBy ? { login: extra.mergedBy, type: 'User' } : null,
      head: { sha: pull.head, ref: `feature-${number}` }, base: { sha: pull.base, ref: pull.baseRef },
    },
  };
}

export function commentEvent(github: FakeGitHub, number: number, body: string, login: string, type = 'User'): { payload: object; commentId: number } {
  const comment = github.addComment(number, body, login);
  comment.user.type = type;
  return {
    commentId: comment.id,
    payload: {
      action: 'created', repository, installation, sender: { login, type },
      issue: { number, pull_request: { url: `${github.url}/repos/${OWNER}/${REPO}/pulls/${number}` } },
      comment: { id: comment.id, body, user: { login, type } },
    },
  };
}

export function requestedActionEvent(checkRun: { id: number; head_sha: string; name: string; external_id?: string }, login: string, identifier = 'cutover'): object {
  return {
    action: 'requested_action', repository, installation, sender: { login, type: 'User' },
    check_run: { id: checkRun.id, head_sha: checkRun.head_sha, name: checkRun.name, external_id: checkRun.external_id ?? null },
    requested_action: { identifier },
  };
}

export function protectionRuleEvent(github: FakeGitHub, sha: string, runId: number, environment = 'production-schema'): object {
  return {
    action: 'requested', repository, installation, environment, event: 'push',
    deployment_callback_url: `${github.url}/repos/${OWNER}/${REPO}/actions/runs/${runId}/deployment_protection_rule`,
    deployment: { id: 9000 + runId, sha, ref: 'main', environment },
  };
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
  close(): Promise<void>;
}

export async function deployStack(name: string, rows: number, writers: number): Promise<DeployStack> {
  const fx = await twinFixture(rows, writers, 2);
  const hold = await CopyHold.create(fx.conn, fx.target.database);
  const runner = await new TestRunner(fx.target, `_sb_app_${name}_${process.pid}`, hold.tuning).start();
  const harness = await startApp(runner);
  return {
    fx, hold, runner, harness,
    async close() {
      await harness.close();
      await runner.close();
      await fx.load.stop();
      await fx.conn.end();
    },
  };
}

/** Starts a deploy stack before the file's tests and closes it after them; its fields are set once they run. */
export function useDeployStack(name: string, rows: number, writers: number): DeployStack {
  const holder = {} as DeployStack;
  beforeAll(async () => {
    Object.assign(holder, await deployStack(name, rows, writers));
  });
  afterAll(async () => {
    await holder.close?.();
  });
  return holder;
}

/** A merge of pull request `number`: a commit of its head's files on main, then the closed event. */
export function mergePull(github: FakeGitHub, number: number, mergedBy = 'maintainer'): { sha: string; event: object } {
  const pull = github.pulls.get(number)!;
  const sha = github.commit(github.filesAt(pull.head), 'main');
  pull.merged = sha;
  return { sha, event: pullRequestEvent('closed', github, number, { merged: true, mergedBy }) };
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
