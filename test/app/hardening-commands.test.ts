// The comment commands not covered elsewhere, on one deploy held while copying: /status, /pause and
// /resume from a writer; /abort refused to a writer and done for a maintainer; comments by bots and
// edited comments ignored; and a protection rule of an aborted deploy's commit rejected.
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_SQL, WIDENED } from '../support/deploy-fixture.ts';
import { commentEvent, mergePull, protectionRuleEvent } from '../../app/local-github/webhook-events.ts';
import { eventually, repoConfig, useDeployStack } from './app-harness.ts';

const stack = useDeployStack('commands', 2_000, 1);
let sha: string;
let id: string;

beforeAll(async () => {
  const { github } = stack.harness;
  github.permissions.set('maintainer', 'maintain');
  const base = github.commit({
    '.github/schemabot.yml': repoConfig(stack.runner.url), 'schemas/t.sql': `${TABLE_SQL('t')};\n`, 'schemas/t_twin.sql': `${TABLE_SQL('t_twin')};\n`,
  }, 'main');
  github.openPull(121, base, github.commit({ ...github.filesAt(base), 'schemas/t.sql': `${WIDENED('t')};\n` }));
  const merge = mergePull(github, 121);
  sha = merge.sha;
  expect((await stack.harness.deliver('pull_request', merge.event)).status).toBe(200);
  [{ id }] = await stack.runner.service.list({});
  await eventually(async () => (await stack.runner.service.get(id)).state === 'running', 'the deploy copying (held)');
});

/** `login` comments `body` on the pull request; the comment's reactions and the App's reply, if any. */
async function command(body: string, login: string, type = 'User') {
  const { github } = stack.harness;
  const before = github.commentsOn(121).length;
  const { payload, commentId } = commentEvent(github, 121, body, login, type);
  expect((await stack.harness.deliver('issue_comment', payload)).status).toBe(200);
  // The reconciler may create or edit the sticky comment meanwhile: the reply is the one quoting the command.
  const reply = github.commentsOn(121).slice(before)
    .find((c) => c.user.login === 'schemabot[bot]' && c.body.startsWith(`> ${body}\n`));
  return { reactions: github.comments.find((c) => c.id === commentId)!.reactions, reply: reply?.body ?? '' };
}

describe('comment commands', () => {
  it('/status says where each deploy of the pull request stands', async () => {
    const { reactions, reply } = await command('/status', 'dev');
    expect(reactions).toEqual(['eyes', 'rocket']);
    expect(reply).toMatch(new RegExp(`^> /status\\n\\n\\*\\*production\\*\\*: .+ · deploy \`${id.replace('.', '\\.')}\``));
  });

  it('/pause and /resume from a writer pause and resume the deploy', async () => {
    expect(await command('/pause', 'dev')).toMatchObject({ reactions: ['eyes', 'rocket'], reply: expect.stringContaining('**production**: paused') });
    expect((await stack.runner.service.get(id)).paused).toBe(true);
    expect(await command('/resume', 'dev')).toMatchObject({ reactions: ['eyes', 'rocket'], reply: expect.stringContaining('**production**: resumed') });
    expect((await stack.runner.service.get(id)).paused).toBe(false);
  });

  it('ignores comments by bots, and edited comments', async () => {
    const { github } = stack.harness;
    const byBot = commentEvent(github, 121, '/abort', 'ci[bot]', 'Bot');
    expect((await stack.harness.deliver('issue_comment', byBot.payload, { id: 'by-bot' })).status).toBe(200);
    const edited = commentEvent(github, 121, '/abort', 'maintainer');
    expect((await stack.harness.deliver('issue_comment', { ...edited.payload, action: 'edited' }, { id: 'edited' })).status).toBe(200);
    expect(github.calls.filter((c) => c.delivery === 'by-bot' || c.delivery === 'edited')).toEqual([]);
    expect(github.comments.find((c) => c.id === byBot.commentId)!.reactions).toEqual([]);
    expect((await stack.runner.service.get(id)).state).not.toBe('aborted');
  });

  it('/abort is refused to a writer and done for a maintainer; the commit\'s protection rule is then rejected', async () => {
    expect(await command('/abort', 'dev')).toMatchObject({
      reactions: ['eyes', 'confused'], reply: expect.stringContaining('`/abort` needs maintain or admin permission on this repository; dev has write.'),
    });
    expect(await command('/abort', 'maintainer')).toMatchObject({ reactions: ['eyes', 'rocket'], reply: expect.stringContaining('**production**: abort requested') });
    await eventually(async () => (await stack.runner.service.get(id)).state === 'aborted', 'the deploy aborted');
    await eventually(() => stack.harness.github.checkRunsNamed('schemabot/deploy').find((r) => r.conclusion === 'cancelled'), 'the deploy check run cancelled');

    const { github } = stack.harness;
    expect((await stack.harness.deliver('deployment_protection_rule', protectionRuleEvent(github, sha, 1201))).status).toBe(200);
    expect(github.protectionAnswers.find((a) => a.runId === '1201')?.body).toMatchObject({
      state: 'rejected', comment: expect.stringMatching(/cannot be cut over\n.*aborted/),
    });
  });
});
