// Creating a deploy's GitHub objects once across App instances: a claim younger than ten minutes is
// left to its instance (creations can sit behind write pacing and retries for minutes); an older one is
// taken over; and an instance whose claim was taken over while it was creating completes what it made
// as neutral ("Superseded") and goes on with the recorded check run, leaving no orphan asking for
// attention. Of two instances reconciling at the same time, one posts each progress update.
import type { Connection } from 'mysql2/promise';
import type { ProbotOctokit } from 'probot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnerClient, type DeployView } from '../../runner/client/runner-client.ts';
import { freshDatabase } from '../support/database.ts';
import { ensureCreated, identitySigner, signedIdentity } from '../../app/deploy-external.ts';
import { supersedeCheckRun } from '../../app/deploy-sync.ts';
import { registerApp } from '../../app/local-github/app-registration.ts';
import { LocalGitHub } from '../../app/local-github/local-github.ts';
import { APP_ID, INSTALLATION, OWNER, REPO, TestRunner, WEBHOOK_SECRET } from './app-harness.ts';
import { appOctokit, drivenReconciler } from './hardening-support.ts';

const repo = { owner: OWNER, repo: REPO };
let conn: Connection;
let runner: TestRunner;
let github: LocalGitHub;
let octokit: ProbotOctokit;
let client: RunnerClient;
let deploy: DeployView;

beforeAll(async () => {
  const db = await freshDatabase('app_claims');
  conn = db.conn;
  await conn.query('CREATE TABLE users (id INT NOT NULL, PRIMARY KEY (id))');
  runner = await new TestRunner(db.target, `_sb_app_claims_${process.pid}`).start();
  github = await new LocalGitHub(OWNER, REPO, registerApp(APP_ID, WEBHOOK_SECRET), INSTALLATION).start();
  octokit = await appOctokit(github);
  client = new RunnerClient({ url: runner.url, token: runner.token });
  ({ deploy } = await runner.service.submit({
    target: 'main', files: { 'users.sql': 'CREATE TABLE users (id INT NOT NULL, name VARCHAR(20) NULL, PRIMARY KEY (id));\n' }, clientKey: 'claims', actor: 'dev',
    external: { repo: `${OWNER}/${REPO}`, pr: 1, sha: 'a'.repeat(40), installation: INSTALLATION, environment: 'production', label: '' },
  }));
});

afterAll(async () => {
  await github?.close();
  await runner?.close();
  await conn?.end();
});

const checkRun = async (title: string) => (await octokit.rest.checks.create({ ...repo, name: 'schemabot/deploy', head_sha: 'a'.repeat(40), status: 'in_progress', output: { title, summary: title } })).data.id;
const claimedAgo = async (key: string, ms: number) => (await client.patchExternal(deploy.id, { set: { [key]: `creating:other:${Date.now() - ms}` } })).deploy;
const supersede = (id: number) => supersedeCheckRun(octokit, repo, id);

describe('a claim to create a GitHub object', () => {
  it('of another instance, five minutes old, is left to it', async () => {
    let created = 0;
    const id = await ensureCreated(client, await claimedAgo('fresh', 5 * 60_000), 'fresh', 'me', async () => ++created, supersede);
    expect(id).toBeUndefined();
    expect(created).toBe(0);
  });

  it('of another instance, eleven minutes old, is taken over', async () => {
    const id = await ensureCreated(client, await claimedAgo('stale', 11 * 60_000), 'stale', 'me', () => checkRun('mine'), supersede);
    expect(typeof id).toBe('number');
    expect((await runner.service.get(deploy.id)).external.stale).toBe(id);
  });

  it('taken over while creating leaves a superseded check run, and the recorded one is used', async () => {
    let winner = 0;
    const id = await ensureCreated(client, await runner.service.get(deploy.id), 'deployCheckRun', 'slow', async () => {
      const mine = await checkRun('slow instance');
      // Meanwhile another instance took the claim over, created its check run and recorded it.
      winner = await checkRun('other instance');
      await runner.service.patchExternal(deploy.id, { set: { deployCheckRun: winner } });
      return mine;
    }, supersede);
    expect(id).toBe(winner);
    expect((await runner.service.get(deploy.id)).external.deployCheckRun).toBe(winner);
    const orphan = github.checkRuns.find((r) => r.output.title === 'Superseded')!;
    expect(orphan).toMatchObject({ status: 'completed', conclusion: 'neutral', actions: [] });
    expect(orphan.id).not.toBe(winner);
    expect(github.checkRuns.find((r) => r.id === winner)).toMatchObject({ status: 'in_progress' });
  });
});

describe('a progress update', () => {
  it('is posted by one of two instances that reconcile at the same time', async () => {
    const binding = { tokenEnv: 'SCHEMABOT_RUNNER_TOKEN_MAIN', url: runner.url, token: runner.token };
    const { deploy: signed } = await runner.service.submit({
      target: 'main', files: { 'users.sql': 'CREATE TABLE users (id INT NOT NULL, name VARCHAR(20) NULL, email VARCHAR(20) NULL, PRIMARY KEY (id));\n' },
      clientKey: 'two-instances', actor: 'dev',
      external: { ...signedIdentity({ repo: `${OWNER}/${REPO}`, pr: 2, sha: 'b'.repeat(40), installation: INSTALLATION, environment: 'production', label: '' }, identitySigner(WEBHOOK_SECRET)), github: 'open' },
    });
    await drivenReconciler(github, [binding]).pass();
    const id = (await runner.service.get(signed.id)).external.deployCheckRun as number;
    expect(typeof id).toBe('number');
    // What was posted is out of date: both instances see an update to make.
    await runner.service.patchExternal(signed.id, { set: { deployCheckRunPosted: 'out of date', deployCheckRunAt: 1 } });
    const updates = () => github.calls.filter((c) => c.method === 'PATCH' && c.path.endsWith(`/check-runs/${id}`)).length;
    const before = updates();
    await Promise.all([drivenReconciler(github, [binding]).pass(), drivenReconciler(github, [binding]).pass()]);
    expect(updates() - before).toBe(1);
  });
});
