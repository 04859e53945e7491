// `command: cutover`, `status` and `submit`, run as GitHub runs them (dist/index.js in a child
// process) against the real runner with its worker and MariaDB: a gated deploy submitted as the
// App submits it is found by its commit, released, and followed to `complete`; a deploy that fails
// and one that never gets ready fail the job with a message naming the state; status; and the
// App-less flow (submit on push, cutover in the gated job).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import type { DeployView } from '../../runner/client/runner-client.ts';
import { fakeSha, REPO, suiteFixture, workspaceWith, type ActionFixture } from './action-fixture.ts';
import { expectTokenOnlyMasked, runAction, type ActionRun } from './action-run.ts';
import { startOutageProxy } from './outage-proxy.ts';

const ORDERS = (amount: string, extra = '') => `CREATE TABLE orders (
  id INT NOT NULL AUTO_INCREMENT,
  code VARCHAR(20) NOT NULL,
  amount ${amount} NOT NULL,${extra}
  PRIMARY KEY (id)
);
`;
/** A DECIMAL widening: the server needs a table copy, so it runs as an online migration. */
const WIDENED = ORDERS('DECIMAL(14,2)');
/** The same copy, plus a unique key the existing rows break: the copy fails on the first duplicate. */
const WIDENED_UNIQUE = ORDERS('DECIMAL(14,2)', '\n  -- schemabot:ignore SB201 the test wants the copy to fail\n  UNIQUE KEY uk_code (code),');

/** A fresh `orders` table (the live one, before the change) with `rows` rows. */
async function createOrders(fx: ActionFixture, rows: number, distinctCodes: number): Promise<void> {
  await fx.conn.query('DROP TABLE IF EXISTS orders');
  await fx.conn.query(ORDERS('DECIMAL(10,2)').replace(';', ''));
  const values = Array.from({ length: rows }, (_, i) => [`c${i % distinctCodes}`, (i % 1000) + 0.25]);
  await fx.conn.query('INSERT INTO orders (code, amount) VALUES ?', [values]);
}

/** Submits `orders.sql` as the App does on merge: gated, tagged with the repository, the merge commit and the PR. */
async function submitAsApp(fx: ActionFixture, pr: number, file: string): Promise<{ sha: string; submitted: DeployView }> {
  const sha = fakeSha(`merge-of-${pr}`);
  const submitted = await fx.client.submit({
    target: 'main', files: { 'orders.sql': file }, clientKey: `${REPO}#${pr}@${sha}/main`, cutover: 'gated', external: { repo: REPO, pr, sha }, actor: 'merger',
  });
  return { sha, submitted };
}

function pushEnv(sha: string): Record<string, string> {
  return { GITHUB_REPOSITORY: REPO, GITHUB_SHA: sha, GITHUB_ACTOR: 'release-manager' };
}

describe('action: cutover and status, with a runner that works deploys', () => {
  const fx = suiteFixture({ worker: true });

  function action(inputs: Record<string, string>, env: Record<string, string>, extra: { workspace?: string; event?: { name: string; payload: unknown } } = {}): Promise<ActionRun> {
    return runAction({ inputs: { ...fx.runnerInputs, ...inputs }, env, ...extra });
  }

  it('finds the gated deploy of this commit, logs progress, cuts over and waits for complete', async () => {
    await createOrders(fx, 3000, 3000);
    const { sha, submitted } = await submitAsApp(fx, 7, WIDENED);

    const run = await action({ command: 'cutover', 'timeout-minutes': '5' }, pushEnv(sha));
    expect(run.status, run.stdout).toBe(0);
    expect(run.outputs).toEqual({ 'deploy-id': submitted.id, state: 'complete' });
    expect(run.log).toContainEqual(expect.stringMatching(
      new RegExp(`^${submitted.id} ready-to-cutover 100%: \`orders\` ready-to-cutover, 100\\.0% \\(3,000/[\\d,]+ rows, [\\d,]+ rows/s\\), lag \\d+ ms`)));
    expect(run.log).toContain(`Cut-over of ${submitted.id} released by release-manager`);
    expect(run.log.at(-1)).toBe(`Deploy ${submitted.id} is complete`);
    expect(run.annotations).toEqual([]);
    expectTokenOnlyMasked(run, fx.token);

    const events = await fx.client.events(submitted.id);
    expect(events.find((e) => e.kind === 'cutover-requested')?.actor).toBe('release-manager via release');
    const [[column]] = await fx.conn.query<RowDataPacket[]>("SELECT COLUMN_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders' AND COLUMN_NAME = 'amount'");
    expect(column.type).toBe('decimal(14,2)');

    // status: by the commit of a push, by the merge commit of a merged pull_request event, and by id.
    const byPush = await action({ command: 'status' }, pushEnv(sha));
    expect(byPush.status).toBe(0);
    expect(byPush.outputs).toEqual({ 'deploy-id': submitted.id, state: 'complete' });
    expect(byPush.log).toEqual([
      `${submitted.id} complete 100%: \`orders\` complete, 3,000 rows copied`,
      'cut-over released by release-manager via release',
      expect.stringMatching(/^submitted by merger via release at \S+; last change \S+$/),
    ]);
    const merged = { name: 'pull_request', payload: { pull_request: { number: 7, merged: true, merge_commit_sha: sha, base: { sha: fakeSha('base') } } } };
    const byMergeCommit = await action({ command: 'status' }, pushEnv(fakeSha('pr-test-merge')), { event: merged });
    expect(byMergeCommit.outputs).toEqual({ 'deploy-id': submitted.id, state: 'complete' });
    const byId = await action({ command: 'status', deploy: submitted.id }, {});
    expect(byId.outputs).toEqual({ 'deploy-id': submitted.id, state: 'complete' });
  });

  it('fails the job, naming the cause, when the deploy fails', async () => {
    await createOrders(fx, 2000, 500);
    const { sha, submitted } = await submitAsApp(fx, 8, WIDENED_UNIQUE);
    const run = await action({ command: 'cutover', 'timeout-minutes': '5' }, pushEnv(sha));
    expect(run.status).toBe(1);
    expect(run.outputs).toEqual({ 'deploy-id': submitted.id, state: 'failed' });
    expect(run.annotations).toEqual([{ level: 'error', properties: {}, message: expect.stringMatching(new RegExp(`^deploy ${submitted.id} failed: .*Duplicate entry`)) }]);
    expect(run.log.join('\n')).not.toContain('released by');
    expectTokenOnlyMasked(run, fx.token);
  });

  it('rides out the runner being away while it waits, and says so', async () => {
    await createOrders(fx, 1000, 1000);
    const { sha, submitted } = await submitAsApp(fx, 10, WIDENED);
    const proxy = await startOutageProxy(fx.api.url);
    try {
      const running = action({ command: 'cutover', 'runner-url': proxy.url, 'timeout-minutes': '5' }, pushEnv(sha));
      await proxy.waitFor('forwarded', 1);
      proxy.down();
      // More than one call's worth of the client's own retries (4 attempts): the command has seen the outage.
      await proxy.waitFor('refused', 5);
      proxy.up();
      const run = await running;
      expect(run.status, run.stdout).toBe(0);
      expect(run.outputs).toEqual({ 'deploy-id': submitted.id, state: 'complete' });
      expect(run.annotations).toEqual([{
        level: 'warning', properties: {},
        message: `the runner failed (http-503): the runner at ${proxy.url} answered HTTP 503: waiting for it until the timeout`,
      }]);
      expect(run.log).toContain('The runner answers again');
    } finally {
      await proxy.close();
    }
  });

  it('status: a commit without a deploy is "none"; an unknown deploy id fails', async () => {
    const none = await action({ command: 'status' }, pushEnv(fakeSha('no-deploy')));
    expect(none.status).toBe(0);
    expect(none.outputs).toEqual({ state: 'none' });
    expect(none.log).toEqual([`No deploy of commit ${fakeSha('no-deploy').slice(0, 12)} of ${REPO} on the runner at ${fx.api.url}`]);
    const unknown = await action({ command: 'status', deploy: 'main.999999' }, {});
    expect(unknown.status).toBe(1);
    expect(unknown.annotations.at(-1)?.message).toBe(`no deploy "main.999999" on the runner at ${fx.api.url} (check the "deploy" input)`);
  });

  it('without the App: submit on push makes one gated deploy of the commit, and cutover in the gated job finishes it', async () => {
    await createOrders(fx, 1000, 1000);
    const workspace = workspaceWith({ 'orders.sql': WIDENED });
    const sha = fakeSha('app-less');
    const submit = await action({ command: 'submit' }, pushEnv(sha), { workspace });
    expect(submit.status, submit.stdout).toBe(0);
    const id = submit.outputs['deploy-id'];
    expect(id).toMatch(/^main\.\d+$/);
    expect(submit.outputs['has-changes']).toBe('true');
    expect(submit.summary).toContain('ALTER TABLE `orders`');
    const deploy = await fx.client.get(id);
    expect(deploy).toMatchObject({ cutover: 'gated', external: { repo: REPO, sha }, submittedBy: 'release-manager via release' });

    const again = await action({ command: 'submit' }, pushEnv(sha), { workspace });
    expect(again.outputs['deploy-id']).toBe(id);
    expect(again.log.join('\n')).toContain(`already has deploy ${id}`);

    const cutover = await action({ command: 'cutover', deploy: id, 'timeout-minutes': '5' }, pushEnv(sha));
    expect(cutover.status, cutover.stdout).toBe(0);
    expect(cutover.outputs).toEqual({ 'deploy-id': id, state: 'complete' });

    const nothing = await action({ command: 'submit' }, pushEnv(fakeSha('app-less-2')), { workspace });
    expect(nothing.status).toBe(0);
    expect(nothing.outputs).toMatchObject({ 'has-changes': 'false', state: 'none' });
    expect(nothing.outputs['deploy-id']).toBeUndefined();
    expect(nothing.log.join('\n')).toContain('Nothing to deploy: target main already matches schemas');
  });
});

describe('action: cutover timing out, with a runner whose worker is off', () => {
  const fx = suiteFixture({ worker: false });

  it('fails after timeout-minutes, naming the state and progress, and leaves the deploy to the runner', async () => {
    await createOrders(fx, 100, 100);
    const { sha, submitted } = await submitAsApp(fx, 9, WIDENED);
    const run = await runAction({ inputs: { ...fx.runnerInputs, command: 'cutover', 'timeout-minutes': '0.05' }, env: pushEnv(sha) });
    expect(run.status).toBe(1);
    expect(run.outputs).toEqual({ 'deploy-id': submitted.id, state: 'queued' });
    expect(run.annotations).toEqual([{
      level: 'error', properties: {},
      message: `timed out after 3s (timeout-minutes): ${submitted.id} queued 0%: \`orders\` queued; the deploy goes on in the runner`,
    }]);
    expect(run.log).toContain(`${submitted.id} queued 0%: \`orders\` queued`);
    expect((await fx.client.get(submitted.id)).state).toBe('queued');
    expectTokenOnlyMasked(run, fx.token);

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const nowhere = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const unreachable = await runAction({ inputs: { ...fx.runnerInputs, 'runner-url': nowhere, command: 'cutover', 'timeout-minutes': '60' }, env: pushEnv(sha) });
    expect(unreachable.status).toBe(1);
    expect(unreachable.annotations.at(-1)?.message).toMatch(new RegExp(`^the runner at ${nowhere} could not be reached`));

    const unsubmitted = await runAction({ inputs: { ...fx.runnerInputs, command: 'cutover', 'timeout-minutes': '0.05' }, env: pushEnv(fakeSha('never-merged')) });
    expect(unsubmitted.status).toBe(1);
    expect(unsubmitted.outputs).toEqual({});
    expect(unsubmitted.log).toEqual([`No deploy of commit ${fakeSha('never-merged').slice(0, 12)} of ${REPO} yet: waiting for it to be submitted`]);
    expect(unsubmitted.annotations.at(-1)?.message).toBe(`timed out after 3s: no deploy of commit ${fakeSha('never-merged').slice(0, 12)} of ${REPO} was found on the runner`);
  });
});
