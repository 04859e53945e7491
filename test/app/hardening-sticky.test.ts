// The sticky comment is the App's own: a comment of another bot that carries the marker, a copy of the
// App's signed marker on another comment, or a foreign comment id in a deploy's metadata is never
// adopted or edited. Writers of one process take turns, so two sections written at once land in one
// comment; when two App instances both create the comment, the newer is deleted and its section moves
// to the older.
import type { ProbotOctokit } from 'probot';
import { beforeAll, describe, expect, it } from 'vitest';
import { StickyComments } from '../../app/sticky-comment.ts';
import type { LocalGitHub } from '../../app/local-github/local-github.ts';
import { commentEvent, pullRequestEvent } from '../../app/local-github/webhook-events.ts';
import { OWNER, REPO, repoConfig, WEBHOOK_SECRET } from './app-harness.ts';
import { appOctokit, USERS, USERS_WITH_NAME as WITH_NAME, useAppStack } from './hardening-support.ts';

const repo = { owner: OWNER, repo: REPO };
const stack = useAppStack('sticky');
let octokit: ProbotOctokit;

beforeAll(async () => {
  octokit = await appOctokit(stack.harness.github);
});

/** The local GitHub has no DELETE for comments: it answers 204 here, and the comment goes. */
function deletableComments(github: LocalGitHub): () => void {
  github.inject('DELETE', /\/issues\/comments\/\d+$/, 204, { times: 100 });
  return github.onChange(() => {
    const call = github.calls.at(-1);
    if (call?.method !== 'DELETE') return;
    const at = github.comments.findIndex((c) => call.path.endsWith(`/comments/${c.id}`));
    if (at >= 0) github.comments.splice(at, 1);
  });
}

const appComments = (github: LocalGitHub, issue: number) => github.commentsOn(issue).filter((c) => c.user.login === 'schemabot[bot]');

describe('the sticky comment', () => {
  it('is never one that another bot wrote, even with the marker or a copied signature', async () => {
    const { harness, runner } = stack;
    const { github } = harness;
    const base = github.commit({ '.github/schemabot.yml': repoConfig(runner.url), 'schemas/users.sql': USERS }, 'main');
    const head = github.commit({ ...github.filesAt(base), 'schemas/users.sql': WITH_NAME });
    github.openPull(61, base, head);
    const impostor = commentEvent(github, 61, '<!-- schemabot:plan -->\nLooks good, merge it.', 'other-app[bot]', 'Bot');
    expect((await harness.deliver('pull_request', pullRequestEvent('opened', github, 61))).status).toBe(200);

    const [mine] = appComments(github, 61);
    expect(appComments(github, 61)).toHaveLength(1);
    expect(mine.body).toContain('ALTER TABLE `users`');
    expect(github.comments.find((c) => c.id === impostor.commentId)!.body).toBe('<!-- schemabot:plan -->\nLooks good, merge it.');

    // The signed marker copied onto another comment, and a deploy's metadata pointing at it.
    const copied = commentEvent(github, 61, `${mine.body.split('\n')[0]}\ncopied`, 'other-app[bot]', 'Bot');
    const sticky = new StickyComments(WEBHOOK_SECRET);
    expect(await sticky.setSection(octokit, repo, 61, 'status:production', 'deploying', copied.commentId)).toBe(mine.id);
    github.openPull(61, base, github.commit({ ...github.filesAt(head), 'README.md': 'pushed again' }));
    expect((await harness.deliver('pull_request', pullRequestEvent('synchronize', github, 61))).status).toBe(200);

    expect(github.comments.find((c) => c.id === copied.commentId)!.body.endsWith('\ncopied')).toBe(true);
    expect(github.comments.find((c) => c.id === impostor.commentId)!.body).toContain('Looks good, merge it.');
    expect(appComments(github, 61)).toEqual([expect.objectContaining({ id: mine.id, body: expect.stringContaining('deploying') })]);
    const edited = github.calls.filter((c) => c.method === 'PATCH' && /\/issues\/comments\/\d+$/.test(c.path)).map((c) => Number(c.path.split('/').pop()));
    expect(new Set(edited)).toEqual(new Set([mine.id]));
  });

  it('takes two sections written at once in one process', async () => {
    const { harness } = stack;
    const { github } = harness;
    const sticky = new StickyComments(WEBHOOK_SECRET);
    const ids = await Promise.all([
      sticky.setSection(octokit, repo, 62, 'plan', 'the plan'),
      sticky.setSection(octokit, repo, 62, 'status:production', 'the status'),
    ]);
    expect(github.commentsOn(62)).toHaveLength(1);
    expect(ids).toEqual([github.commentsOn(62)[0].id, github.commentsOn(62)[0].id]);
    expect(github.commentsOn(62)[0].body).toMatch(/the plan[\s\S]*the status/);
  });

  it('made by two App instances at once ends as the older one, with both sections', async () => {
    const { harness } = stack;
    const { github } = harness;
    const stop = deletableComments(github);
    const callsBefore = github.calls.length;
    try {
      const [first, second] = [new StickyComments(WEBHOOK_SECRET), new StickyComments(WEBHOOK_SECRET)];
      const ids = await Promise.all([
        first.setSection(octokit, repo, 63, 'plan', 'the plan'),
        second.setSection(octokit, repo, 63, 'status:production', 'the status'),
      ]);
      const created = github.calls.filter((c) => c.method === 'POST' && c.path.endsWith('/issues/63/comments'));
      expect(created).toHaveLength(2);
      const [kept] = github.commentsOn(63);
      expect(github.commentsOn(63)).toHaveLength(1);
      expect(ids).toEqual([kept.id, kept.id]);
      expect(kept.body).toContain('the plan');
      expect(kept.body).toContain('the status');
      expect(github.calls.slice(callsBefore).filter((c) => c.method === 'DELETE')).toHaveLength(1);
    } finally {
      stop();
    }
  });
});
