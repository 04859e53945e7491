// What goes wrong around the App: a runner that is down (a clear failure on the check run, and a
// re-run that succeeds once it is back), the App restarted in the middle of a deploy (the new process
// carries on with the same check run, from the ids kept on the runner), and GitHub answering 502, 429
// or a secondary rate limit (retried).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TABLE_SQL, WIDENED } from '../support/deploy-fixture.ts';
import { mergePull, pullRequestEvent } from '../../app/local-github/webhook-events.ts';
import { eventually, repoConfig, startApp, useDeployStack, type AppHarness } from './app-harness.ts';

const stack = useDeployStack('resilience', 20_000, 1);

beforeAll(async () => {
  const { github } = stack.harness;
  const base = github.commit({
    '.github/schemabot.yml': repoConfig(stack.runner.url), 'schemas/t.sql': `${TABLE_SQL('t')};\n`, 'schemas/t_twin.sql': `${TABLE_SQL('t_twin')};\n`,
  }, 'main');
  github.openPull(9, base, github.commit({ ...github.filesAt(base), 'schemas/t.sql': `${WIDENED('t')};\n` }));
});


const rerequested = (run: { id: number; head_sha: string; name: string; external_id?: string }) => ({
  action: 'rerequested', installation: { id: 77 }, sender: { login: 'dev', type: 'User' },
  repository: { id: 1, name: 'shop', full_name: 'acme/shop', owner: { login: 'acme' }, default_branch: 'main' },
  check_run: { id: run.id, head_sha: run.head_sha, name: run.name, external_id: run.external_id },
});

describe('a runner that is down', () => {
  it('fails the plan check run with the reason, and a re-run after it is back succeeds', async () => {
    const { github } = stack.harness;
    await stack.runner.stopHttp();
    expect((await stack.harness.deliver('pull_request', pullRequestEvent('opened', github, 9))).status).toBe(200);
    const [failed] = github.checkRunsNamed('schemabot/plan');
    expect(failed).toMatchObject({ conclusion: 'failure', output: { title: 'Could not plan: the runner is unreachable' } });
    expect(failed.output.summary).toContain('the runner could not be reached');
    expect(failed.output.summary).not.toContain(stack.runner.url.replace('http://', ''));
    expect(failed.output.summary).toContain('Re-run this check once the runner is back.');
    expect(github.commentsOn(9)[0].body).toContain('Could not plan: the runner is unreachable');

    await stack.runner.startHttp();
    expect((await stack.harness.deliver('check_run', rerequested(failed))).status).toBe(200);
    const runs = github.checkRunsNamed('schemabot/plan');
    expect(runs).toHaveLength(2);
    expect(runs[1]).toMatchObject({ conclusion: 'success', head_sha: failed.head_sha });
    expect(github.commentsOn(9)).toHaveLength(1);
    expect(github.commentsOn(9)[0].body).toContain('ALTER TABLE `t`');
  });

  it('fails the deploy check run at merge time, and a re-run submits the deploy', async () => {
    const { github } = stack.harness;
    await stack.runner.stopHttp();
    const { sha, event } = mergePull(github, 9);
    expect((await stack.harness.deliver('pull_request', event)).status).toBe(200);
    const [failed] = github.checkRunsNamed('schemabot/deploy');
    expect(failed).toMatchObject({ head_sha: sha, conclusion: 'failure', output: { title: 'Could not deploy: the runner is unreachable' } });
    expect(await stack.runner.service.list({})).toEqual([]);

    await stack.runner.startHttp();
    expect((await stack.harness.deliver('check_run', rerequested(failed))).status).toBe(200);
    const [submitted] = await stack.runner.service.list({});
    expect(submitted.external).toMatchObject({ repo: 'acme/shop', pr: 9, sha });
    await eventually(() => github.checkRunsNamed('schemabot/deploy').find((r) => r.id !== failed.id), 'the deploy check run');
  });
});

describe('the App restarted in the middle of a deploy', () => {
  it('carries on with the same check run and deployment', async () => {
    const { github } = stack.harness;
    const [{ id }] = await stack.runner.service.list({});
    const live = await eventually(() => github.checkRunsNamed('schemabot/deploy').find((r) => /throttled/.test(r.output.title ?? '')), 'the held deploy on GitHub');
    const updatesBefore = live.history.length;

    await stack.runner.stopHttp();
    await stack.harness.restart();
    // The new process cannot reach the runner yet: it says so in its log and posts nothing.
    await eventually(() => stack.harness.logs.some((l) => l.includes("reconcile: cannot list the runner's deploys")), 'the unreachable runner logged');
    await stack.runner.startHttp();
    await stack.hold.set(false);

    await eventually(() => live.conclusion === 'success', 'the deploy check run to complete', 90_000);
    expect(live.history.length).toBeGreaterThan(updatesBefore);
    expect(github.checkRunsNamed('schemabot/deploy').filter((r) => r.conclusion !== 'failure')).toEqual([live]);
    expect(github.deployments).toHaveLength(1);
    expect((await stack.runner.service.get(id)).external.deployCheckRun).toBe(live.id);
    const result = await stack.fx.compare();
    expect(result.rows[0]).toEqual(result.rows[1]);
  });
});

describe('GitHub failing', () => {
  it('is retried through a 502, a 429 and a secondary rate limit', async () => {
    const paced = await startApp(stack.runner, { throttle: true });
    harness2 = paced;
    const { github } = paced;
    const base = github.commit({ '.github/schemabot.yml': repoConfig(stack.runner.url), 'schemas/t.sql': `${WIDENED('t')};\n`, 'schemas/t_twin.sql': `${TABLE_SQL('t_twin')};\n` }, 'main');
    github.openPull(11, base, github.commit({ ...github.filesAt(base), 'schemas/t_twin.sql': `${WIDENED('t_twin')};\n` }));
    github.inject('GET', /\/pulls\/11\/files$/, 429, { headers: { 'retry-after': '1' }, body: { message: 'Too many requests' } });
    github.inject('POST', /\/check-runs$/, 502, { body: { message: 'Bad gateway' } });
    github.inject('POST', /\/issues\/11\/comments$/, 403, {
      headers: { 'retry-after': '1' }, body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' },
    });
    expect((await paced.deliver('pull_request', pullRequestEvent('opened', github, 11))).status).toBe(200);
    const statuses = (pattern: RegExp) => github.calls.filter((c) => pattern.test(c.path)).map((c) => c.status);
    expect(statuses(/\/pulls\/11\/files$/)).toEqual([429, 200]);
    expect(statuses(/\/check-runs$/)).toEqual([502, 201]);
    expect(statuses(/\/issues\/11\/comments$/).filter((s) => s !== 200)).toEqual([403, 201]);
    expect(github.checkRunsNamed('schemabot/plan')).toHaveLength(1);
    expect(github.commentsOn(11)).toHaveLength(1);
  });
});

let harness2: AppHarness | undefined;
afterAll(async () => {
  await harness2?.close();
});
