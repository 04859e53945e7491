// A pull request that changes schema files gets one `schemabot/plan` check run on its head commit,
// with annotations on the exact .sql lines, and one sticky comment that later pushes edit in place.
// A pull request without schema changes gets nothing; an unsigned or badly signed delivery does nothing.
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.ts';
import { pullRequestEvent } from '../../app/local-github/webhook-events.ts';
import { eventually, repoConfig, startApp, TestRunner, WEBHOOK_SECRET, type AppHarness } from './app-harness.ts';

const USERS = 'CREATE TABLE users (\n  id INT NOT NULL AUTO_INCREMENT,\n  email VARCHAR(100) NOT NULL,\n  PRIMARY KEY (id)\n);\n';
const USERS_WITH_BALANCE = 'CREATE TABLE users (\n  id INT NOT NULL AUTO_INCREMENT,\n  email VARCHAR(100) NOT NULL,\n  balance FLOAT NULL,\n  PRIMARY KEY (id)\n);\n';
const BROKEN = 'CREATE TABLE audit (\n  id INT NOT NULL,\n  what VARCHAR(20) NOT NUL,\n  PRIMARY KEY (id)\n);\n';

let conn: Connection;
let runner: TestRunner;
let harness: AppHarness;

beforeAll(async () => {
  const db = await freshDatabase('app_pr');
  conn = db.conn;
  await conn.query(USERS);
  runner = await new TestRunner(db.target, `_sb_app_pr_${process.pid}`).start();
  harness = await startApp(runner);
});

afterAll(async () => {
  await harness?.close();
  await runner?.close();
  await conn?.end();
});

describe('pull requests', () => {
  it('get one plan check run with line annotations and one sticky comment, edited on the next push', async () => {
    const { github } = harness;
    const base = github.commit({ '.github/schemabot.yml': repoConfig(runner.url), 'schemas/users.sql': USERS, 'README.md': 'shop' }, 'main');
    const head = github.commit({ ...github.filesAt(base), 'schemas/users.sql': USERS_WITH_BALANCE, 'schemas/audit.sql': BROKEN });
    github.openPull(1, base, head);

    const opened = await harness.deliver('pull_request', pullRequestEvent('opened', github, 1));
    expect(opened).toEqual({ status: 200, text: 'ok\n' });
    const tokenCall = github.calls.find((c) => c.path === '/app/installations/77/access_tokens');
    expect(tokenCall).toMatchObject({ auth: 'jwt', status: 201 });

    const [plan] = github.checkRunsNamed('schemabot/plan');
    expect(github.checkRunsNamed('schemabot/plan')).toHaveLength(1);
    expect(plan).toMatchObject({ head_sha: head, status: 'completed', conclusion: 'failure' });
    expect(plan.output.title).toMatch(/1 change · 1 error · 1 warning/);
    expect(plan.output.summary).toContain('ALTER TABLE `users`');
    expect(plan.annotations).toEqual(expect.arrayContaining([
      expect.objectContaining({ path: 'schemas/audit.sql', start_line: 3, end_line: 3, annotation_level: 'failure' }),
      expect.objectContaining({ path: 'schemas/users.sql', start_line: 4, end_line: 4, annotation_level: 'warning', title: expect.stringContaining('SB306') }),
    ]));

    const comments = github.commentsOn(1);
    expect(comments).toHaveLength(1);
    expect(comments[0].body.startsWith('<!-- schemabot:plan -->')).toBe(true);
    expect(comments[0].body).toContain('ALTER TABLE `users`');
    expect(comments[0].body).toContain(`Planned at ${head.slice(0, 12)}`);

    const fixed = github.commit({ ...github.filesAt(head), 'schemas/audit.sql': BROKEN.replace('NOT NUL,', 'NOT NULL,') });
    github.openPull(1, base, fixed);
    expect((await harness.deliver('pull_request', pullRequestEvent('synchronize', github, 1))).status).toBe(200);
    const runs = github.checkRunsNamed('schemabot/plan');
    expect(runs).toHaveLength(2);
    expect(runs[1]).toMatchObject({ head_sha: fixed, conclusion: 'success' });
    expect(runs[1].output.summary).toContain('CREATE TABLE `audit`');
    expect(github.commentsOn(1)).toHaveLength(1);
    expect(github.commentsOn(1)[0].body).toContain(`Planned at ${fixed.slice(0, 12)}`);
    expect(github.commentsOn(1)[0].body).toContain('CREATE TABLE `audit`');
    // One edit signs the new comment, one is the push's.
    expect(github.calls.filter((c) => c.method === 'PATCH' && /\/issues\/comments\/\d+$/.test(c.path))).toHaveLength(2);
  });

  it('leave a pull request that touches no schema file alone', async () => {
    const { github } = harness;
    const base = github.branches.get('main')!;
    const head = github.commit({ ...github.filesAt(base), 'README.md': 'shop, now documented' });
    github.openPull(2, base, head);
    const before = github.writes().length;
    expect((await harness.deliver('pull_request', pullRequestEvent('opened', github, 2))).status).toBe(200);
    expect(github.writes().length).toBe(before);
    expect(github.commentsOn(2)).toEqual([]);
  });

  it('reports a broken configuration in the plan check run', async () => {
    const { github } = harness;
    const base = github.commit({ ...github.filesAt(github.branches.get('main')!), '.github/schemabot.yml': 'schemas:\n  - dir: ../etc\n    environments: []\n' }, 'main');
    const head = github.commit({ ...github.filesAt(base), 'schemas/users.sql': USERS_WITH_BALANCE });
    github.openPull(3, base, head);
    expect((await harness.deliver('pull_request', pullRequestEvent('opened', github, 3))).status).toBe(200);
    const run = github.checkRunsNamed('schemabot/plan').find((r) => r.head_sha === head)!;
    expect(run).toMatchObject({ conclusion: 'failure', output: { title: 'schemabot configuration error' } });
    expect(run.output.summary).toContain('schemas\\[0\\].dir must be a relative directory');
  });

  it('rejects deliveries without a valid signature before anything happens', async () => {
    const { github } = harness;
    const callsBefore = github.calls.length;
    const event = pullRequestEvent('opened', github, 1);
    const forged = await harness.deliver('pull_request', event, { secret: 'not-the-secret' });
    const unsigned = await harness.deliver('pull_request', event, { secret: null });
    expect(forged.status).toBe(400);
    expect(unsigned.status).toBe(400);
    await new Promise((r) => setTimeout(r, 300));
    expect(github.calls.length).toBe(callsBefore);
  });

  it('never logs a token or a secret', async () => {
    const issued = [...harness.github.tokens.keys()];
    expect(issued.length).toBeGreaterThan(0);
    expect(issued[0].length).toBeGreaterThan(500);
    const logs = harness.logs.join('\n');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [...issued, runner.token, WEBHOOK_SECRET]) expect(logs).not.toContain(secret);
    expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/);
    await eventually(() => true, 'nothing');
  });
});
