// Pending protection rules are answered one by one: a rule GitHub refuses to take an answer for (422:
// the run is no longer waiting) is dropped, one that meets a 502 is answered on a later pass, one that
// keeps failing is given up after a few passes, and none of them keeps the others, the sticky comment
// or the deploy's final mark from being brought up to date.
import { describe, expect, it } from 'vitest';
import { TABLE_SQL, WIDENED } from '../support/deploy-fixture.ts';
import { mergePull, protectionRuleEvent } from '../../app/local-github/webhook-events.ts';
import { eventually, repoConfig, useDeployStack } from './app-harness.ts';

const stack = useDeployStack('gate_answers', 2_000, 1);

describe('pending protection rules', () => {
  it('are answered each on its own, whatever GitHub does with the others', async () => {
    const { github } = stack.harness;
    const base = github.commit({
      '.github/schemabot.yml': repoConfig(stack.runner.url, { cutover: 'gated' }), 'schemas/t.sql': `${TABLE_SQL('t')};\n`, 'schemas/t_twin.sql': `${TABLE_SQL('t_twin')};\n`,
    }, 'main');
    github.openPull(41, base, github.commit({ ...github.filesAt(base), 'schemas/t.sql': `${WIDENED('t')};\n` }));
    const { sha, event } = mergePull(github, 41);
    expect((await stack.harness.deliver('pull_request', event)).status).toBe(200);
    const [{ id }] = await stack.runner.service.list({});
    for (const run of [701, 702, 703, 704]) {
      expect((await stack.harness.deliver('deployment_protection_rule', protectionRuleEvent(github, sha, run))).status).toBe(200);
    }
    expect((await stack.runner.service.get(id)).external.gates).toHaveLength(4);

    const gateUrl = (run: number) => new RegExp(`/actions/runs/${run}/deployment_protection_rule$`);
    github.inject('POST', gateUrl(701), 422, { times: 1000, body: { message: 'No pending deployment requests to approve or reject' } });
    github.inject('POST', gateUrl(703), 502, { times: 6, body: { message: 'Bad gateway' } });
    github.inject('POST', gateUrl(704), 502, { times: 1000, body: { message: 'Bad gateway' } });
    await stack.hold.set(false);

    await eventually(async () => (await stack.runner.service.get(id)).external.gates === undefined, 'every gate answered or dropped', 30_000);
    const verdicts = (run: number) => github.protectionAnswers.filter((a) => a.runId === String(run) && a.body.state).map((a) => a.body.state);
    expect(verdicts(702)).toEqual(['approved']);
    expect(verdicts(703)).toEqual(['approved']);
    expect(verdicts(701)).toEqual([]);
    expect(verdicts(704)).toEqual([]);
    const callsTo704 = github.calls.filter((c) => gateUrl(704).test(c.path)).length;
    expect(callsTo704).toBeLessThan(100);
    await eventually(() => github.commentsOn(41).find((c) => c.body.includes('**production**: ready to cut over')), 'the comment status');
    await new Promise((r) => setTimeout(r, 1000));
    expect(github.calls.filter((c) => gateUrl(704).test(c.path))).toHaveLength(callsTo704);
  });
});
