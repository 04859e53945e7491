// A hosted App serving many tenants keeps them apart: a runner binding serves only the installations
// the operator lists for it (a repository cannot plan against another tenant's runner); the reconciler
// posts only deploys whose identity the App signed at submit, and only for installations their runner
// serves; a pending protection rule is answered only at its own repository's callback URL.
import type { Connection } from 'mysql2/promise';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.ts';
import { startAppServer } from '../../app/app-server.ts';
import { identitySigner, signedIdentity } from '../../app/deploy-external.ts';
import { registerApp } from '../../app/local-github/app-registration.ts';
import { LocalGitHub } from '../../app/local-github/local-github.ts';
import { pullRequestEvent } from '../../app/local-github/webhook-events.ts';
import { bindingsFromEnv, RunnerRegistry, type RunnerBinding } from '../../app/runner-registry.ts';
import { APP_ID, INSTALLATION, OWNER, REPO, repoConfig, RUNNER_TOKEN_ENV, TestRunner, WEBHOOK_SECRET } from './app-harness.ts';
import { drivenReconciler, USERS, USERS_WITH_NAME as WITH_NAME } from './hardening-support.ts';

const OTHER_TENANT = 88;

let conn: Connection;
let runner: TestRunner;
let github: LocalGitHub;

beforeAll(async () => {
  const db = await freshDatabase('app_tenancy');
  conn = db.conn;
  await conn.query(USERS);
  runner = await new TestRunner(db.target, `_sb_app_tenancy_${process.pid}`).start();
  github = await new LocalGitHub(OWNER, REPO, registerApp(APP_ID, WEBHOOK_SECRET), INSTALLATION).start();
  github.permissions.set('dev', 'write');
});

afterAll(async () => {
  await github?.close();
  await runner?.close();
  await conn?.end();
});

const binding = (installations?: number[]): RunnerBinding => ({ tokenEnv: RUNNER_TOKEN_ENV, url: runner.url, token: runner.token, installations });

const reconcilerFor = (installations?: number[]) => drivenReconciler(github, [binding(installations)]);

let tables = 0;
/** A deploy on the runner for commit `sha` (adding one more table), with `external` as given. */
async function deployOf(sha: string, external: Record<string, unknown>) {
  tables++;
  const files = Object.fromEntries(Array.from({ length: tables }, (_, i) => [`t${i}.sql`, `CREATE TABLE t${i} (\n  id INT NOT NULL,\n  PRIMARY KEY (id)\n);\n`]));
  return (await runner.service.submit({ target: 'main', files: { 'users.sql': USERS, ...files }, clientKey: `tenancy-${sha}`, actor: 'someone', external })).deploy;
}
const identity = (sha: string, installation = INSTALLATION) => ({ repo: `${OWNER}/${REPO}`, pr: 1, sha, installation, environment: 'production', label: '' });
const runsOn = (sha: string) => github.checkRuns.filter((r) => r.head_sha === sha);

describe('runner bindings', () => {
  it('name the installations they serve in the environment, or * for all', () => {
    const env = { SCHEMABOT_RUNNER_TOKEN_A: 'token-a-0123456789', SCHEMABOT_RUNNER_URL_A: 'http://a:1' };
    expect(() => bindingsFromEnv(env)).toThrow(/SCHEMABOT_RUNNER_INSTALLATIONS_A must list the GitHub App installation ids/);
    expect(bindingsFromEnv({ ...env, SCHEMABOT_RUNNER_INSTALLATIONS_A: '77, 78' })[0].installations).toEqual([77, 78]);
    expect(bindingsFromEnv({ ...env, SCHEMABOT_RUNNER_INSTALLATIONS_A: '*' })[0].installations).toBeUndefined();
    expect(() => bindingsFromEnv({ ...env, SCHEMABOT_RUNNER_INSTALLATIONS_A: '77,x' })).toThrow(/must list/);
  });

  it('keep a repository of another installation from planning against the runner', async () => {
    const app = await startAppServer({
      appId: APP_ID, privateKey: github.app.privateKey, webhookSecret: WEBHOOK_SECRET, baseUrl: github.url, port: 0,
      registry: new RunnerRegistry([binding([OTHER_TENANT])]), github: { retryBaseMs: 5, throttle: false }, log: pino({ level: 'silent' }),
    });
    try {
      github.hookUrl = `${app.url}/api/github/webhooks`;
      const base = github.commit({ '.github/schemabot.yml': repoConfig(runner.url), 'schemas/users.sql': USERS }, 'main');
      const head = github.commit({ ...github.filesAt(base), 'schemas/users.sql': WITH_NAME });
      github.openPull(101, base, head);
      expect((await github.deliver('pull_request', pullRequestEvent('opened', github, 101))).status).toBe(200);
      const [run] = runsOn(head);
      expect(run).toMatchObject({ conclusion: 'failure', output: { title: 'schemabot configuration error' } });
      expect(run.output.summary).toContain('for this repository');
      expect(run.output.summary).not.toContain('ALTER TABLE');
    } finally {
      await app.stop();
    }
  });
});

describe('the reconciler', () => {
  it('posts nothing for a deploy whose identity the App did not sign', async () => {
    const sha = '1'.repeat(40);
    await deployOf(sha, { ...identity(sha), github: 'open' });
    const forged = '2'.repeat(40);
    await deployOf(forged, { ...signedIdentity(identity(forged), identitySigner('another-apps-secret-0123456789')), github: 'open' });
    const reconciler = reconcilerFor();
    for (let pass = 0; pass < 3; pass++) await reconciler.pass();
    expect(runsOn(sha)).toEqual([]);
    expect(runsOn(forged)).toEqual([]);
  });

  it('posts nothing for an installation the runner does not serve, and everything for one it does', async () => {
    const sha = '3'.repeat(40);
    await deployOf(sha, { ...signedIdentity(identity(sha), identitySigner(WEBHOOK_SECRET)), github: 'open' });
    for (let pass = 0; pass < 3; pass++) await reconcilerFor([OTHER_TENANT]).pass();
    expect(runsOn(sha)).toEqual([]);
    await reconcilerFor([INSTALLATION]).pass();
    expect(runsOn(sha).map((r) => r.name)).toContain('schemabot/deploy');
  });

  it('answers a pending protection rule only at its own repository', async () => {
    const sha = '4'.repeat(40);
    const deploy = await deployOf(sha, { ...signedIdentity(identity(sha), identitySigner(WEBHOOK_SECRET)), github: 'open' });
    const elsewhere = `${github.url}/repos/${OWNER}/other-repo/actions/runs/77/deployment_protection_rule`;
    await runner.service.patchExternal(deploy.id, { set: { gates: [{ url: elsewhere, environment: 'production-schema', reports: 0, line: '' }] } });
    await runner.service.command(deploy.id, 'abort', 'someone').catch(() => undefined);
    const reconciler = reconcilerFor();
    for (let pass = 0; pass < 3; pass++) await reconciler.pass();
    expect(github.calls.filter((c) => c.path.includes('/other-repo/'))).toEqual([]);
    expect((await runner.service.get(deploy.id)).external.gates).toBeUndefined();
  });
});
