// Whatever happens, the person who acted hears about it, and GitHub never hears where the runner is: a
// command while the runner is down gets 😕 and a reply (not a lone 👀); a Cut over button press that
// is refused or that the runner turns down is noted on the check run under its usual text; a
// redelivered comment is not acted on twice.
import { beforeAll, describe, expect, it } from 'vitest';
import { CUTOVER_WAITING } from '../../app/deploy-sync.ts';
import { commentEvent, mergePull, requestedActionEvent } from '../../app/local-github/webhook-events.ts';
import { eventually, repoConfig } from './app-harness.ts';
import { USERS, USERS_WITH_NAME, useAppStack } from './hardening-support.ts';

const stack = useAppStack('feedback');
let sha: string;

beforeAll(async () => {
  const { github } = stack.harness;
  github.permissions.set('maintainer', 'maintain').set('reader', 'read');
  const base = github.commit({ '.github/schemabot.yml': repoConfig(stack.runner.url), 'schemas/users.sql': USERS }, 'main');
  github.openPull(111, base, github.commit({ ...github.filesAt(base), 'schemas/users.sql': USERS_WITH_NAME }));
  const merge = mergePull(github, 111);
  sha = merge.sha;
  expect((await stack.harness.deliver('pull_request', merge.event)).status).toBe(200);
  await eventually(() => github.checkRunsNamed('schemabot/deploy').find((r) => r.head_sha === sha && r.conclusion === 'success'), 'the deploy');
});

describe('feedback', () => {
  it('a command while the runner is down gets 😕 and a reply that does not say where the runner is', async () => {
    const { github } = stack.harness;
    await stack.runner.stopHttp();
    try {
      const { payload, commentId } = commentEvent(github, 111, '/status', 'maintainer');
      expect((await stack.harness.deliver('issue_comment', payload)).status).toBe(200);
      expect(github.comments.find((c) => c.id === commentId)!.reactions).toEqual(['eyes', 'confused']);
      const reply = github.commentsOn(111).at(-1)!.body;
      expect(reply).toMatch(/^> \/status\n\nNot done: the runner could not be reached\. Try again later\./);
      expect(reply).not.toContain(stack.runner.url.replace('http://', ''));
    } finally {
      await stack.runner.startHttp();
    }
  });

  it('a redelivered command is not run again', async () => {
    const { github } = stack.harness;
    const { payload } = commentEvent(github, 111, '/status', 'maintainer');
    // GitHub answers 200 when the App's 👀 is already on the comment.
    github.inject('POST', /\/issues\/comments\/\d+\/reactions$/, 200, { body: { id: 1, content: 'eyes' } });
    const comments = github.commentsOn(111).length;
    expect((await stack.harness.deliver('issue_comment', payload, { id: 'redelivered' })).status).toBe(200);
    expect(github.commentsOn(111)).toHaveLength(comments);
    expect(github.calls.filter((c) => c.delivery === 'redelivered').map((c) => `${c.method} ${c.path.replace(/\d+/g, 'N')}`)).toEqual([
      'GET /repos/acme/shop/collaborators/maintainer/permission', 'POST /repos/acme/shop/issues/comments/N/reactions',
    ]);
  });

  it('a Cut over press that is refused, or that the runner turns down, is noted under the check run\'s text', async () => {
    const { github } = stack.harness;
    const run = github.checkRunsNamed('schemabot/deploy').find((r) => r.head_sha === sha)!;
    expect((await stack.harness.deliver('check_run', requestedActionEvent(github, run, 'reader'))).status).toBe(200);
    expect(run.output.summary).toBe(`${CUTOVER_WAITING}\n\n_reader (read) may not cut over: maintain or admin permission is needed._`);

    expect((await stack.harness.deliver('check_run', requestedActionEvent(github, run, 'maintainer'))).status).toBe(200);
    expect(run.output.summary).toMatch(new RegExp(`^${CUTOVER_WAITING.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n\n_The cut-over asked by maintainer was not done: .+\\. Try again\\._$`));
  });
});
