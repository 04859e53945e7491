// A schema directory the App cannot read completely is refused, never planned as if the missing tables
// were dropped: a `.sql` name that is a symbolic link, a directory or a submodule (which the contents
// API lists as a file), or a listing that GitHub may have cut at 1000 entries.
import { beforeAll, describe, expect, it } from 'vitest';
import { blobSha } from '../../app/local-github/local-github.ts';
import { pullRequestEvent } from '../../app/local-github/webhook-events.ts';
import { repoConfig } from './app-harness.ts';
import { USERS, USERS_WITH_NAME as WITH_NAME, useAppStack } from './hardening-support.ts';

const ORDERS = 'CREATE TABLE orders (\n  id INT NOT NULL,\n  PRIMARY KEY (id)\n);\n';
const stack = useAppStack('schema_dir', [USERS, ORDERS]);
let number = 70;

beforeAll(() => {
  stack.harness.github.commit({ '.github/schemabot.yml': repoConfig(stack.runner.url), 'schemas/users.sql': USERS, 'schemas/orders.sql': ORDERS }, 'main');
});

const file = (name: string, content: string) => ({ type: 'file', name, path: `schemas/${name}`, sha: blobSha(content), size: Buffer.byteLength(content) });

/** Opens a pull request that changes users.sql, whose head directory GitHub lists as `listing`; the plan check run. */
async function planWithListing(listing: object[]) {
  const { harness } = stack;
  const { github } = harness;
  const base = github.branches.get('main')!;
  const head = github.commit({ ...github.filesAt(base), 'schemas/users.sql': WITH_NAME });
  number++;
  github.openPull(number, base, head);
  github.inject('GET', /\/contents\/schemas$/, 200, { body: listing });
  expect((await harness.deliver('pull_request', pullRequestEvent('opened', github, number))).status).toBe(200);
  const runs = github.checkRunsNamed('schemabot/plan').filter((r) => r.head_sha === head);
  expect(runs).toHaveLength(1);
  expect(github.commentsOn(number).map((c) => c.body).join('\n')).not.toMatch(/DROP TABLE/);
  return runs[0];
}

describe('a schema directory', () => {
  it('with a .sql symbolic link is refused', async () => {
    const run = await planWithListing([file('users.sql', WITH_NAME), { ...file('orders.sql', 'x'), type: 'symlink', target: '../elsewhere/orders.sql' }]);
    expect(run).toMatchObject({ conclusion: 'failure', output: { title: 'Could not plan' } });
    expect(run.output.summary).toContain('orders.sql is a symbolic link: schema files must be regular files');
  });

  it('with a .sql directory is refused', async () => {
    const run = await planWithListing([file('users.sql', WITH_NAME), { ...file('orders.sql', 'x'), type: 'dir', size: 0 }]);
    expect(run).toMatchObject({ conclusion: 'failure', output: { title: 'Could not plan' } });
    expect(run.output.summary).toContain('orders.sql is a dir: schema files must be regular files');
  });

  it('with a submodule listed as a file is refused', async () => {
    const run = await planWithListing([file('users.sql', WITH_NAME), { ...file('orders.sql', 'a commit, not a blob'), size: 0 }]);
    expect(run).toMatchObject({ conclusion: 'failure', output: { title: 'Could not plan' } });
    expect(run.output.summary).toMatch(/orders\.sql is not a regular file \\\(a submodule/);
  });

  it('listed with 1000 entries, where GitHub may have left some out, is refused', async () => {
    const listing = [file('users.sql', WITH_NAME), ...Array.from({ length: 999 }, (_, i) => file(`note-${i}.txt`, `note ${i}`))];
    const run = await planWithListing(listing);
    expect(run).toMatchObject({ conclusion: 'failure', output: { title: 'Could not plan' } });
    expect(run.output.summary).toContain('1000 entries or more');
  });

  it('of regular files is planned', async () => {
    const run = await planWithListing([file('users.sql', WITH_NAME), file('orders.sql', ORDERS), file('README.md', 'notes')]);
    expect(run).toMatchObject({ conclusion: 'success' });
    expect(run.output.summary).toContain('ALTER TABLE `users`');
  });
});
