// Gated cut-over and comment commands on one deploy, under concurrent writes: a protection rule asked
// before the deploy is ready gets a status report and stays pending, then is approved by the
// reconciler once it is ready (and a later one at once); the `schemabot/cutover` check run offers a
// button that only a maintainer can use; `/revert` from a read-only user changes nothing, from a
// maintainer it swaps back without losing a write.
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_SQL, WIDENED } from '../support/deploy-fixture.ts';
import {
  commentEvent, mergePull, protectionRuleEvent, requestedActionEvent,
} from '../../app/local-github/webhook-events.ts';
import { eventually, repoConfig, useDeployStack } from './app-harness.ts';

const stack = useDeployStack('gated', 20_000, 2);
let sha: string;
let deployId: string;

beforeAll(async () => {
  stack.harness.github.permissions.set('maintainer', 'maintain').set('reader', 'read').set('dev', 'write');
});


const deploy = () => stack.runner.service.get(deployId);

describe('gated cut-over', () => {
  it('answers a protection rule with a status report before the deploy is ready, and approves once it is', async () => {
    const { github } = stack.harness;
    const base = github.commit({
      '.github/schemabot.yml': repoConfig(stack.runner.url, { cutover: 'gated' }), 'schemas/t.sql': `${TABLE_SQL('t')};\n`, 'schemas/t_twin.sql': `${TABLE_SQL('t_twin')};\n`,
    }, 'main');
    github.openPull(7, base, github.commit({ ...github.filesAt(base), 'schemas/t.sql': `${WIDENED('t')};\n` }));
    const merge = mergePull(github, 7);
    sha = merge.sha;
    expect((await stack.harness.deliver('pull_request', merge.event)).status).toBe(200);
    [{ id: deployId }] = await stack.runner.service.list({});
    expect((await deploy()).cutover).toBe('gated');

    expect((await stack.harness.deliver('deployment_protection_rule', protectionRuleEvent(github, sha, 501))).status).toBe(200);
    // The reconciler may already have posted a newer status report too; none of them decides the rule yet.
    expect(github.protectionAnswers.length).toBeGreaterThanOrEqual(1);
    expect(github.protectionAnswers.map((a) => [a.runId, a.body.state])).toEqual(github.protectionAnswers.map(() => ['501', undefined]));
    expect(github.protectionAnswers[0].body).toMatchObject({ environment_name: 'production-schema', comment: expect.stringMatching(/waiting for the schema deploy\n.*(queued|starting|copying)/) });
    expect((await deploy()).external.gates).toEqual([expect.objectContaining({ environment: 'production-schema', url: expect.stringMatching(/\/actions\/runs\/501\/deployment_protection_rule$/) })]);

    await stack.hold.set(false);
    const approved = await eventually(() => github.protectionAnswers.find((a) => a.runId === '501' && a.body.state), 'the pending rule answered', 90_000);
    expect(approved.body).toMatchObject({ state: 'approved', comment: expect.stringContaining('ready to cut over') });
    expect((await deploy()).state).toBe('ready-to-cutover');
    await eventually(async () => (await deploy()).external.gates === undefined, 'the gate removed');

    expect((await stack.harness.deliver('deployment_protection_rule', protectionRuleEvent(github, sha, 502))).status).toBe(200);
    expect(github.protectionAnswers.find((a) => a.runId === '502')?.body.state).toBe('approved');
    expect(github.protectionAnswers.filter((a) => a.runId === '501' && a.body.state)).toHaveLength(1);
  });

  it('offers a Cut over button that only a maintainer can use', async () => {
    const { github } = stack.harness;
    const cutover = await eventually(() => github.checkRunsNamed('schemabot/cutover')[0], 'the cutover check run');
    expect(cutover).toMatchObject({ head_sha: sha, conclusion: 'action_required', external_id: deployId });
    expect(cutover.actions).toEqual([{ label: 'Cut over', identifier: 'cutover', description: 'Swap the tables now' }]);

    expect((await stack.harness.deliver('check_run', requestedActionEvent(github, cutover, 'reader'))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect((await deploy())).toMatchObject({ state: 'ready-to-cutover', cutoverRequestedBy: undefined });

    expect((await stack.harness.deliver('check_run', requestedActionEvent(github, cutover, 'maintainer'))).status).toBe(200);
    await eventually(async () => (await deploy()).state === 'complete', 'the cut-over', 90_000);
    expect((await deploy()).cutoverRequestedBy).toBe('maintainer via github-app');
    await eventually(() => cutover.conclusion === 'success', 'the cutover check run to succeed');
    expect(cutover.actions).toEqual([]);
    await eventually(() => github.checkRunsNamed('schemabot/deploy')[0]?.conclusion === 'success', 'the deploy check run to succeed');
  });
});

describe('/revert', () => {
  it('is refused to a read-only user, who changes nothing', async () => {
    const { github } = stack.harness;
    const { payload, commentId } = commentEvent(github, 7, '/revert', 'reader');
    expect((await stack.harness.deliver('issue_comment', payload, { id: 'revert-by-reader' })).status).toBe(200);
    const comment = github.comments.find((c) => c.id === commentId)!;
    expect(comment.reactions).toEqual(['confused']);
    expect((await deploy()).state).toBe('complete');
    // Asked GitHub who the user is and reacted (no reply for someone who may not write); nothing reached the runner or anything else.
    expect(github.calls.filter((c) => c.delivery === 'revert-by-reader').map((c) => `${c.method} ${c.path.replace(/\d+/g, 'N')}`)).toEqual([
      'GET /repos/acme/shop/collaborators/reader/permission', 'POST /repos/acme/shop/issues/comments/N/reactions',
    ]);
    expect((await stack.runner.service.events(deployId)).filter((e) => e.kind.startsWith('revert'))).toEqual([]);
  });

  it('from a maintainer shows what it loses, swaps back and keeps every write', async () => {
    const { github } = stack.harness;
    await stack.fx.conn.query("UPDATE t SET seen_at = '2026-01-01 00:00:00' WHERE id <= 10");
    const { payload, commentId } = commentEvent(github, 7, '/revert\nthe new column broke checkout', 'maintainer');
    expect((await stack.harness.deliver('issue_comment', payload)).status).toBe(200);
    expect(github.comments.find((c) => c.id === commentId)!.reactions).toEqual(['eyes', 'rocket']);
    const reply = github.commentsOn(7).at(-1)!;
    expect(reply.body).toContain('revert started');
    expect(reply.body).toMatch(/column \\`seen\\_at\\` of \\`t\\` is not in the table swapped back: its values are lost/);

    const revert = await eventually(() => github.checkRunsNamed('schemabot/revert').find((r) => r.conclusion), 'the revert check run', 90_000);
    expect(revert).toMatchObject({ head_sha: sha, conclusion: 'success', output: { title: 'reverted' } });
    expect(revert.output.summary).toContain('What the revert loses');
    expect((await deploy())).toMatchObject({ state: 'reverted' });
    await eventually(() => github.commentsOn(7).find((c) => c.body.includes('**production**: reverted')), 'the comment status');
    await eventually(() => github.deployments[0]?.statuses.at(-1)?.state === 'inactive', 'the deployment marked inactive');

    const now = await stack.fx.rowsNow();
    expect(now.definitions[0]).toBe(now.definitions[1]);
    expect(now.rows[0]).toEqual(now.rows[1]);
  });
});
