// The configuration that counts is the one on the default branch's tip: a pull request cannot choose
// its own deploy branch (and so skip the default branch's protection) by editing
// `.github/schemabot.yml`; pull requests into the configured branch are planned and deployed.
import { beforeAll, describe, expect, it } from 'vitest';
import { mergePull, pullRequestEvent } from '../../app/local-github/webhook-events.ts';
import { eventually, repoConfig } from './app-harness.ts';
import { USERS, USERS_WITH_NAME as WITH_NAME, useAppStack } from './hardening-support.ts';

const stack = useAppStack('config');
let mainFiles: Record<string, string>;

beforeAll(() => {
  mainFiles = { '.github/schemabot.yml': repoConfig(stack.runner.url, { cutover: 'gated' }), 'schemas/users.sql': USERS };
  stack.harness.github.commit(mainFiles, 'main');
});

describe('the repository configuration', () => {
  it('cannot be pointed at another branch by a pull request into that branch', async () => {
    const { harness, runner } = stack;
    const { github } = harness;
    const side = github.commit(mainFiles, 'side');
    const head = github.commit({
      '.github/schemabot.yml': `branch: side\n${repoConfig(runner.url)}`, 'schemas/users.sql': WITH_NAME,
    });
    github.openPull(21, side, head, 'side');
    expect((await harness.deliver('pull_request', pullRequestEvent('opened', github, 21))).status).toBe(200);
    const { sha, event } = mergePull(github, 21);
    expect((await harness.deliver('pull_request', event)).status).toBe(200);

    expect(github.checkRuns.filter((r) => r.head_sha === head || r.head_sha === sha)).toEqual([]);
    expect(github.commentsOn(21)).toEqual([]);
    expect(await runner.service.list({})).toEqual([]);
  });

  it('still plans and deploys pull requests into the default branch', async () => {
    const { harness, runner } = stack;
    const { github } = harness;
    const base = github.branches.get('main')!;
    const head = github.commit({ ...mainFiles, 'schemas/users.sql': WITH_NAME });
    github.openPull(22, base, head);
    expect((await harness.deliver('pull_request', pullRequestEvent('opened', github, 22))).status).toBe(200);
    expect(github.checkRunsNamed('schemabot/plan')).toEqual([expect.objectContaining({ head_sha: head, conclusion: 'success' })]);
    const { sha, event } = mergePull(github, 22);
    expect((await harness.deliver('pull_request', event)).status).toBe(200);

    const [deploy] = await runner.service.list({});
    expect(deploy).toMatchObject({ cutover: 'gated', external: { pr: 22, sha } });
    await eventually(async () => (await runner.service.get(deploy.id)).state === 'ready-to-cutover', 'the gated deploy waiting for its release');
  });
});

describe('warnings: neutral', () => {
  it('makes a plan with warnings and no error a neutral check run', async () => {
    const { harness, runner } = stack;
    const { github } = harness;
    const base = github.commit({ ...mainFiles, '.github/schemabot.yml': `warnings: neutral\n${repoConfig(runner.url)}` }, 'main');
    const withFloat = github.commit({ ...github.filesAt(base), 'schemas/users.sql': USERS.replace('  PRIMARY KEY', '  price FLOAT NULL,\n  PRIMARY KEY') });
    github.openPull(23, base, withFloat);
    expect((await harness.deliver('pull_request', pullRequestEvent('opened', github, 23))).status).toBe(200);
    expect(github.checkRunsNamed('schemabot/plan').find((r) => r.head_sha === withFloat)).toMatchObject({ conclusion: 'neutral', output: { title: expect.stringContaining('1 warning') } });
  });
});
