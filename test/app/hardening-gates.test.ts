// Deployment protection rules that come at awkward moments: before the merge webhook submitted the
// deploy (the rule waits for the deploy, which it submits itself, instead of being approved for "no
// schema deploy"), and while the runner is unreachable (rejected, to be re-run, instead of left
// unanswered). A commit that no pull request merged has nothing to wait for.
import { describe, expect, it } from 'vitest';
import { TABLE_SQL, WIDENED } from '../support/deploy-fixture.ts';
import { mergePull, protectionRuleEvent } from '../../app/local-github/webhook-events.ts';
import { eventually, repoConfig, useDeployStack } from './app-harness.ts';

const stack = useDeployStack('gates', 2_000, 1);

/** GitHub's `GET /commits/{sha}/pulls` for a merge commit: the pull request it merged. */
function pullsOfCommit(number: number, sha: string) {
  return [{ number, state: 'closed', merge_commit_sha: sha, merged_at: new Date().toISOString(), base: { ref: 'main' }, head: { ref: `feature-${number}` } }];
}

const answersFor = (runId: number) => stack.harness.github.protectionAnswers.filter((a) => a.runId === String(runId));

describe('a deployment protection rule', () => {
  it('that comes before the merge webhook waits for the deploy of the merge commit', async () => {
    const { github } = stack.harness;
    const base = github.commit({
      '.github/schemabot.yml': repoConfig(stack.runner.url, { cutover: 'gated' }), 'schemas/t.sql': `${TABLE_SQL('t')};\n`, 'schemas/t_twin.sql': `${TABLE_SQL('t_twin')};\n`,
    }, 'main');
    github.openPull(31, base, github.commit({ ...github.filesAt(base), 'schemas/t.sql': `${WIDENED('t')};\n` }));
    const { sha, event } = mergePull(github, 31);
    github.inject('GET', new RegExp(`/commits/${sha}/pulls$`), 200, { body: pullsOfCommit(31, sha) });

    expect((await stack.harness.deliver('deployment_protection_rule', protectionRuleEvent(github, sha, 601))).status).toBe(200);
    // The first answer is a status report; the reconciler may have posted a newer one, none decides the rule yet.
    expect(answersFor(601)[0]).toEqual(expect.objectContaining({ body: expect.objectContaining({ comment: expect.stringContaining('waiting for the schema deploy') }) }));
    expect(answersFor(601).map((a) => a.body.state)).toEqual(answersFor(601).map(() => undefined));
    const [deploy] = await stack.runner.service.list({});
    expect(deploy).toMatchObject({ cutover: 'gated', external: { repo: 'acme/shop', pr: 31, sha, gates: [expect.objectContaining({ url: expect.stringContaining('/runs/601/') })] } });

    // The merge webhook, later, finds the same deploy.
    expect((await stack.harness.deliver('pull_request', event)).status).toBe(200);
    expect(await stack.runner.service.list({})).toHaveLength(1);

    await stack.hold.set(false);
    const approved = await eventually(() => answersFor(601).find((a) => a.body.state), 'the rule answered', 90_000);
    expect(approved.body.state).toBe('approved');
    expect((await stack.runner.service.get(deploy.id)).state).toBe('ready-to-cutover');
  });

  it('is rejected, to be re-run, while the runner cannot be reached', async () => {
    const { github } = stack.harness;
    const sha = github.pulls.get(31)!.merged!;
    await stack.runner.stopHttp();
    try {
      expect((await stack.harness.deliver('deployment_protection_rule', protectionRuleEvent(github, sha, 602))).status).toBe(200);
    } finally {
      await stack.runner.startHttp();
    }
    expect(answersFor(602)).toEqual([expect.objectContaining({ body: expect.objectContaining({ state: 'rejected', comment: expect.stringMatching(/could not be reached.*re-run this job/) }) })]);
  });

  it('is approved at once for a commit no pull request merged', async () => {
    const { github } = stack.harness;
    const pushed = github.commit({ ...github.filesAt(github.branches.get('main')!), 'README.md': 'pushed straight to main' }, 'main');
    github.inject('GET', new RegExp(`/commits/${pushed}/pulls$`), 200, { body: [] });
    expect((await stack.harness.deliver('deployment_protection_rule', protectionRuleEvent(github, pushed, 603))).status).toBe(200);
    expect(answersFor(603)).toEqual([expect.objectContaining({ body: expect.objectContaining({ state: 'approved', comment: expect.stringContaining('no schema deploy') }) })]);
  });
});
