// `command: plan` run as GitHub runs it (the bundled dist/index.js in a child process) against the
// real runner and MariaDB: outputs, the job summary (the runner's Markdown, verbatim), annotations
// at file and line, the exit status, base-branch comparison from git, and refusals.
import { readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repositoryWith, suiteFixture, workspaceWith } from './action-fixture.ts';
import { expectTokenOnlyMasked, runAction, type ActionRun } from './action-run.ts';

const LIVE = 'CREATE TABLE items (\n  id INT NOT NULL,\n  name VARCHAR(40) NOT NULL,\n  PRIMARY KEY (id)\n);\n';
const WITH_PRICE = 'CREATE TABLE items (\n  id INT NOT NULL,\n  name VARCHAR(40) NOT NULL,\n  price FLOAT NULL,\n  PRIMARY KEY (id)\n);\n';
const WITHOUT_NAME = 'CREATE TABLE items (\n  id INT NOT NULL,\n  PRIMARY KEY (id)\n);\n';
const BROKEN = 'CREATE TABLE broken (\n  id INT NOT NULL,\n  name VARCHAR(40) NOT NUL,\n  PRIMARY KEY (id)\n);\n';

const fx = suiteFixture({ worker: false });

beforeAll(async () => {
  await fx.conn.query(LIVE);
});

function plan(workspace: string, extra: { inputs?: Record<string, string>; event?: { name: string; payload: unknown } } = {}): Promise<ActionRun> {
  return runAction({ workspace, inputs: { command: 'plan', ...fx.runnerInputs, ...extra.inputs }, event: extra.event });
}

describe('action: plan', () => {
  it('says nothing changes, writes the runner\'s Markdown verbatim to the job summary, and passes', async () => {
    const run = await plan(workspaceWith({ 'items.sql': LIVE }));
    expect(run.status).toBe(0);
    expect(run.outputs['has-changes']).toBe('false');
    const { markdown } = await fx.client.plan({ target: 'main', files: { 'items.sql': LIVE } });
    expect(run.summary).toBe(`${markdown}\n`);
    expect(run.summary).toContain('nothing to do');
    expect(run.annotations).toEqual([]);
    expect(run.log.join('\n')).toContain('without the base branch: no pull request base commit in this event');
    expectTokenOnlyMasked(run, fx.token);
  });

  it('plans a change: outputs, plan JSON, a warning annotation at the column\'s line, and passes', async () => {
    const run = await plan(workspaceWith({ 'items.sql': WITH_PRICE }));
    expect(run.status).toBe(0);
    expect(run.outputs['has-changes']).toBe('true');
    const planJson = JSON.parse(readFileSync(run.outputs['plan-json'], 'utf8'));
    expect(planJson.changes.map((c: { table: string; kind: string }) => [c.table, c.kind])).toEqual([['items', 'alter']]);
    expect(run.summary).toContain('ALTER TABLE `items`');
    expect(run.annotations).toContainEqual({
      level: 'warning', properties: { title: 'SB306 float-for-money', file: 'schemas/items.sql', line: '4' }, message: expect.stringContaining('price'),
    });
    expect(run.annotations.filter((a) => a.level === 'error')).toEqual([]);
    expectTokenOnlyMasked(run, fx.token);
  });

  it('fails on errors: an error annotation at the file and line of each, and exit status 1', async () => {
    const run = await plan(workspaceWith({ 'items.sql': WITHOUT_NAME, 'broken.sql': BROKEN }));
    expect(run.status).toBe(1);
    const errors = run.annotations.filter((a) => a.level === 'error');
    expect(errors).toContainEqual({
      level: 'error', properties: { title: 'schema file error', file: 'schemas/broken.sql', line: '3' }, message: expect.stringContaining('syntax'),
    });
    expect(errors).toContainEqual({
      level: 'error', properties: { title: 'SB102 drop-column', file: 'schemas/items.sql', line: '1' }, message: expect.stringContaining('`items`.`name`'),
    });
    expect(errors.at(-1)).toEqual({ level: 'error', properties: {}, message: `the plan has ${errors.length - 1} error(s): see the annotations and the job summary` });
    expect(run.outputs['has-changes']).toBe('true');
    expect(run.summary).toContain('Files that do not load');
    expectTokenOnlyMasked(run, fx.token);
  });

  it('compares with the base commit when the checkout has it, and says why not when it does not', async () => {
    const repo = repositoryWith({ 'items.sql': LIVE }, { 'items.sql': WITH_PRICE });
    const event = { name: 'pull_request', payload: { pull_request: { number: 5, merged: false, base: { sha: repo.baseSha } } } };
    const withBase = await plan(repo.workspace, { event });
    expect(withBase.status).toBe(0);
    expect(withBase.log.join('\n')).toContain('compared with the base commit');
    expect(withBase.summary).toContain('What this pull request changes (1)');
    const { markdown } = await fx.client.plan({ target: 'main', files: { 'items.sql': WITH_PRICE }, baseFiles: { 'items.sql': LIVE } });
    expect(withBase.summary).toBe(`${markdown}\n`);

    const shallow = await plan(workspaceWith({ 'items.sql': WITH_PRICE }), { event });
    expect(shallow.status).toBe(0);
    expect(shallow.log.join('\n')).toContain(`the base commit ${repo.baseSha.slice(0, 12)} is not in the checkout (actions/checkout with fetch-depth: 0 brings it)`);
    expect(shallow.summary).not.toContain('What this pull request changes');
  });

  it('refuses a symbolic link and a file name the runner would not take, rather than plan their tables away', async () => {
    const linked = workspaceWith({ 'items.sql': LIVE });
    symlinkSync('/proc/self/environ', join(linked, 'schemas', 'secrets.sql'));
    const link = await plan(linked);
    expect(link.status).toBe(1);
    expect(link.annotations.at(-1)?.message).toBe('schemas/secrets.sql: not a regular file (a symbolic link?): schema files must be plain files');
    expectTokenOnlyMasked(link, fx.token);

    const elsewhere = workspaceWith({ 'items.sql': LIVE });
    const linkedDir = workspaceWith({});
    rmSync(join(linkedDir, 'schemas'), { recursive: true });
    symlinkSync(join(elsewhere, 'schemas'), join(linkedDir, 'schemas'));
    const dirLink = await plan(linkedDir);
    expect(dirLink.status).toBe(1);
    expect(dirLink.annotations.at(-1)?.message).toBe('the schema directory "schemas" is reached through a symbolic link: schema files must be plain files in the repository');

    const spaced = await plan(workspaceWith({ 'items.sql': LIVE, 'my items.sql': LIVE }));
    expect(spaced.status).toBe(1);
    expect(spaced.annotations.at(-1)?.message).toMatch(/^schemas\/my items\.sql: not a name the runner accepts .* leaving it out would plan its table as dropped$/);
  });

  it('names a missing or malformed input, and a runner that refuses the token, without printing the token', async () => {
    const workspace = workspaceWith({ 'items.sql': LIVE });
    const cases: [Record<string, string>, string][] = [
      [{ 'runner-token': '' }, 'input "runner-token" is required'],
      [{ command: 'deploy' }, 'input "command" must be one of plan, submit, cutover, status (got "deploy")'],
      [{ 'timeout-minutes': 'soon' }, 'input "timeout-minutes" must be a number of minutes above 0 and at most 43200 (got "soon")'],
      [{ 'schema-dir': '../elsewhere' }, 'input "schema-dir" must be a directory inside the repository (got "../elsewhere")'],
      [{ 'schema-dir': 'db/schemas' }, 'the schema directory "db/schemas" is not in the workspace: check the "schema-dir" input and that the repository is checked out'],
      [{ environment: 'nope' }, 'the runner refused (not-found): no target named "nope" (known: main)'],
      [{ 'runner-url': 'http://user:pw@127.0.0.1:1' }, 'the runner URL must not carry credentials: pass the token separately'],
    ];
    for (const [inputs, message] of cases) {
      const run = await plan(workspace, { inputs });
      expect(run.status, message).toBe(1);
      expect(run.annotations).toEqual([{ level: 'error', properties: {}, message }]);
      if (inputs['runner-token'] !== '') expectTokenOnlyMasked(run, fx.token);
    }
    const wrongToken = `${fx.token.slice(0, -4)}AAAA`;
    const refused = await plan(workspace, { inputs: { 'runner-token': wrongToken } });
    expect(refused.status).toBe(1);
    expect(refused.annotations.at(-1)?.message).toMatch(/^the runner refused \(unauthorized\): /);
    expectTokenOnlyMasked(refused, wrongToken);
  });
});
