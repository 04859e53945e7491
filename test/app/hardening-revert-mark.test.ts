// A revert that starts while a reconcile pass marks its deploy final (after the pass listed the deploy
// as complete, before its final mark), or one made outside GitHub, leaves a deploy that moves on under
// a `final` mark: the reconciler reopens it, so the revert's end still reaches the check run and the
// comment, however fast the revert was.
import { describe, expect, it } from 'vitest';
import { TABLE_SQL, WIDENED } from '../support/deploy-fixture.ts';
import { mergePull } from '../../app/local-github/webhook-events.ts';
import { eventually, repoConfig, useDeployStack } from './app-harness.ts';

const stack = useDeployStack('revert_mark', 2_000, 1);

describe('a deploy marked final that moves again', () => {
  it('is reopened, and its revert reported to the end', async () => {
    const { github } = stack.harness;
    await stack.hold.set(false);
    const base = github.commit({
      '.github/schemabot.yml': repoConfig(stack.runner.url), 'schemas/t.sql': `${TABLE_SQL('t')};\n`, 'schemas/t_twin.sql': `${TABLE_SQL('t_twin')};\n`,
    }, 'main');
    github.openPull(51, base, github.commit({ ...github.filesAt(base), 'schemas/t.sql': `${WIDENED('t')};\n` }));
    expect((await stack.harness.deliver('pull_request', mergePull(github, 51).event)).status).toBe(200);
    const [{ id }] = await stack.runner.service.list({});
    await eventually(async () => (await stack.runner.service.get(id)).external.github === 'final', 'the complete deploy marked final', 90_000);
    expect((await stack.runner.service.get(id)).external.finalState).toBe('complete');

    // The race's outcome: the revert started, and the `open` the command sets was overwritten by the pass's `final`.
    // (Checked before the command: once the deploy reverts, a pass may rightly reopen it at any moment.)
    expect((await stack.runner.service.get(id)).external.github).toBe('final');
    await stack.runner.service.command(id, 'revert', 'maintainer');

    const revert = await eventually(() => github.checkRunsNamed('schemabot/revert').find((r) => r.output.title === 'reverted'), 'the revert check run', 30_000);
    expect(revert).toMatchObject({ conclusion: 'success', external_id: id });
    await eventually(() => github.commentsOn(51).find((c) => c.body.includes('**production**: reverted')), 'the comment status');
    await eventually(async () => (await stack.runner.service.get(id)).external.finalState === 'reverted', 'the reverted deploy marked final');
    expect((await stack.runner.service.get(id)).external.github).toBe('final');
  });
});
