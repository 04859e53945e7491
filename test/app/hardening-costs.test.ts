// What people without write permission can make the App spend: a pull request of theirs is not planned
// until a writer asks with /plan; a command of theirs gets one 😕 reaction and nothing else. Planning
// fetches each schema file's blob once (the base shares blobs with the head, a later push reuses them),
// and a check run carries at most 100 annotations (two requests), the rest said in its summary.
import { beforeAll, describe, expect, it } from 'vitest';
import { commentEvent, pullRequestEvent } from '../../app/local-github/webhook-events.ts';
import { repoConfig } from './app-harness.ts';
import { USERS, USERS_WITH_NAME as WITH_NAME, useAppStack } from './hardening-support.ts';

const ORDERS = 'CREATE TABLE orders (\n  id INT NOT NULL,\n  PRIMARY KEY (id)\n);\n';
const MANY_FLOATS = USERS.replace('  PRIMARY KEY', `${Array.from({ length: 120 }, (_, i) => `  price${i} FLOAT NULL,\n`).join('')}  PRIMARY KEY`);

const stack = useAppStack('costs', [USERS, ORDERS]);

beforeAll(() => {
  stack.harness.github.permissions.set('maintainer', 'maintain');
  stack.harness.github.commit({ '.github/schemabot.yml': repoConfig(stack.runner.url), 'schemas/users.sql': USERS, 'schemas/orders.sql': ORDERS }, 'main');
});

const blobReads = () => stack.harness.github.calls.filter((c) => c.method === 'GET' && c.path.includes('/git/blobs/')).length;

describe('people without write permission', () => {
  it('get no plan for their pull request until a writer asks, and one reaction for a command', async () => {
    const { harness } = stack;
    const { github } = harness;
    const base = github.branches.get('main')!;
    github.openPull(81, base, github.commit({ ...github.filesAt(base), 'schemas/users.sql': WITH_NAME }));
    const writesBefore = github.writes().length;
    const opened = { ...pullRequestEvent('opened', github, 81), sender: { login: 'stranger', type: 'User' } };
    expect((await harness.deliver('pull_request', opened)).status).toBe(200);
    expect(github.writes().length).toBe(writesBefore);

    const byStranger = commentEvent(github, 81, '/plan', 'stranger');
    expect((await harness.deliver('issue_comment', byStranger.payload, { id: 'plan-by-stranger' })).status).toBe(200);
    expect(github.comments.find((c) => c.id === byStranger.commentId)!.reactions).toEqual(['confused']);
    expect(github.calls.filter((c) => c.delivery === 'plan-by-stranger' && c.method !== 'GET').map((c) => c.path.replace(/\d+/g, 'N')))
      .toEqual(['/repos/acme/shop/issues/comments/N/reactions']);
    expect(github.checkRunsNamed('schemabot/plan')).toEqual([]);

    const blobsBefore = blobReads();
    const byWriter = commentEvent(github, 81, '/plan', 'dev');
    expect((await harness.deliver('issue_comment', byWriter.payload)).status).toBe(200);
    expect(github.comments.find((c) => c.id === byWriter.commentId)!.reactions).toEqual(['eyes', 'rocket']);
    expect(github.checkRunsNamed('schemabot/plan')).toEqual([expect.objectContaining({ conclusion: 'success' })]);
    // users.sql at head and at base, orders.sql once for both.
    expect(blobReads() - blobsBefore).toBe(3);
  });

  it('a writer asking for what needs maintain gets told why not', async () => {
    const { harness } = stack;
    const { github } = harness;
    const { payload, commentId } = commentEvent(github, 81, '/abort', 'dev');
    expect((await harness.deliver('issue_comment', payload)).status).toBe(200);
    expect(github.comments.find((c) => c.id === commentId)!.reactions).toEqual(['eyes', 'confused']);
    expect(github.commentsOn(81).at(-1)!.body).toContain('`/abort` needs maintain or admin permission on this repository; dev has write.');
  });
});

describe('planning', () => {
  it('reads no blob again on a push that changes no schema file', async () => {
    const { harness } = stack;
    const { github } = harness;
    const pull = github.pulls.get(81)!;
    github.openPull(81, pull.base, github.commit({ ...github.filesAt(pull.head), 'README.md': 'more words' }));
    const blobsBefore = blobReads();
    expect((await harness.deliver('pull_request', pullRequestEvent('synchronize', github, 81))).status).toBe(200);
    expect(github.checkRunsNamed('schemabot/plan')).toHaveLength(2);
    expect(blobReads()).toBe(blobsBefore);
  });

  it('annotates at most 100 problems, in two requests, and says how many more there are', async () => {
    const { harness } = stack;
    const { github } = harness;
    const base = github.branches.get('main')!;
    const head = github.commit({ ...github.filesAt(base), 'schemas/users.sql': MANY_FLOATS });
    github.openPull(82, base, head);
    expect((await harness.deliver('pull_request', pullRequestEvent('opened', github, 82))).status).toBe(200);
    const [run] = github.checkRunsNamed('schemabot/plan').filter((r) => r.head_sha === head);
    expect(run.annotations).toHaveLength(100);
    expect(github.calls.filter((c) => c.method === 'PATCH' && c.path.endsWith(`/check-runs/${run.id}`))).toHaveLength(1);
    expect(run.output.summary).toMatch(/^_2\d more problems are not annotated on their lines \(at most 100 are\)/);
  });
});
