// The reconciler under trouble: a runner that accepts connections and never answers delays no other
// runner's deploys; a deploy GitHub keeps refusing to create a check run for is tried again after
// 1, 2, 4 … passes, not on every pass; a deploy whose installation is gone (the App uninstalled) is
// marked so and left alone instead of asking GitHub for a token on every pass.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Connection } from 'mysql2/promise';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.ts';
import { startAppServer } from '../../app/app-server.ts';
import { identitySigner, signedIdentity } from '../../app/deploy-external.ts';
import { registerApp } from '../../app/local-github/app-registration.ts';
import { LocalGitHub } from '../../app/local-github/local-github.ts';
import { mergePull } from '../../app/local-github/webhook-events.ts';
import { RunnerRegistry } from '../../app/runner-registry.ts';
import { APP_ID, INSTALLATION, OWNER, REPO, repoConfig, RUNNER_TOKEN_ENV, TestRunner, WEBHOOK_SECRET } from './app-harness.ts';
import { drivenReconciler, USERS, USERS_WITH_NAME as WITH_NAME } from './hardening-support.ts';


let conn: Connection;
let runner: TestRunner;
let github: LocalGitHub;
let hung: Server;

beforeAll(async () => {
  const db = await freshDatabase('app_reconciler');
  conn = db.conn;
  await conn.query(USERS);
  runner = await new TestRunner(db.target, `_sb_app_reconciler_${process.pid}`).start();
  github = await new LocalGitHub(OWNER, REPO, registerApp(APP_ID, WEBHOOK_SECRET), INSTALLATION).start();
  github.permissions.set('dev', 'write');
  hung = createServer(() => undefined);
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  hung?.closeAllConnections();
  await new Promise((resolve) => hung?.close(resolve));
  await github?.close();
  await runner?.close();
  await conn?.end();
});

const binding = () => ({ tokenEnv: RUNNER_TOKEN_ENV, url: runner.url, token: runner.token });

const reconciler = () => drivenReconciler(github, [binding()]);

const added: string[] = [];

/** A deploy as the App submits it for pull request `pr` (which adds table `t<pr>`), of `installation`. */
async function submitted(pr: number, installation: number) {
  added.push(`t${pr}`);
  const tables = Object.fromEntries(added.map((t) => [`${t}.sql`, `CREATE TABLE ${t} (\n  id INT NOT NULL,\n  PRIMARY KEY (id)\n);\n`]));
  const { deploy } = await runner.service.submit({
    target: 'main', files: { 'users.sql': WITH_NAME, ...tables }, clientKey: `test-${pr}`, actor: 'dev',
    external: { ...signedIdentity({ repo: `${OWNER}/${REPO}`, pr, sha: 'f'.repeat(40), installation, environment: 'production', label: '' }, identitySigner(WEBHOOK_SECRET)), github: 'open' },
  });
  return deploy;
}

describe('the reconciler', () => {
  it('keeps other runners going while one never answers', async () => {
    const app = await startAppServer({
      appId: APP_ID, privateKey: github.app.privateKey, webhookSecret: WEBHOOK_SECRET, baseUrl: github.url, port: 0,
      registry: new RunnerRegistry([
        { tokenEnv: 'SCHEMABOT_RUNNER_TOKEN_HUNG', url: `http://127.0.0.1:${(hung.address() as AddressInfo).port}`, token: 'hung-runner-token-0123' },
        binding(),
      ], { attempts: 2, retryDelayMs: 20, pollTimeoutMs: 1000 }),
      github: { retryBaseMs: 5, throttle: false }, reconcile: { intervalMs: 200, progressIntervalMs: 300 }, log: pino({ level: 'silent' }),
    });
    try {
      github.hookUrl = `${app.url}/api/github/webhooks`;
      const base = github.commit({ '.github/schemabot.yml': repoConfig(runner.url), 'schemas/users.sql': USERS }, 'main');
      github.openPull(91, base, github.commit({ ...github.filesAt(base), 'schemas/users.sql': WITH_NAME }));
      const { sha, event } = mergePull(github, 91);
      expect((await github.deliver('pull_request', event)).status).toBe(200);
      await github.waitFor(() => github.checkRunsNamed('schemabot/deploy').find((r) => r.head_sha === sha && r.conclusion === 'success'), 'the deploy check run', 20_000);
    } finally {
      await app.stop();
    }
  });

  it('tries a deploy GitHub keeps refusing after 1, 2, 4 … passes', async () => {
    const deploy = await submitted(92, INSTALLATION);
    const passes = reconciler();
    github.inject('POST', /\/check-runs$/, 422, { times: 1000, body: { message: 'Validation Failed' } });
    const creates = () => github.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/check-runs') && c.body?.external_id === deploy.id).length;
    for (let pass = 0; pass < 10; pass++) await passes.pass();
    // Passes 1, 3 and 6 tried; 2, 4-5 and 7-10 skipped.
    expect(creates()).toBe(3);
  });

  it('leaves a deploy alone once its installation is gone', async () => {
    const deploy = await submitted(93, 999);
    const passes = reconciler();
    for (let pass = 0; pass < 5; pass++) await passes.pass();
    expect(github.calls.filter((c) => c.path === '/app/installations/999/access_tokens')).toHaveLength(1);
    expect((await runner.service.get(deploy.id)).external.github).toBe('gone');
  });
});
