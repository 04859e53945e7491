// The runner client against the real HTTP server and MariaDB: every call the App and the Action make,
// the compare-and-set on `external` under a race, error codes, retries of transient failures, and
// no token in any error.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnerClient, RunnerError } from '../../runner/client/runner-client.ts';
import { freshDatabase } from '../support/database.ts';
import { startApi, type ApiHarness } from '../server/api-test-server.ts';

const TOKEN = { name: 'github-app', value: 'client-test-token-0123456789abcdef' };
const DESIRED = 'CREATE TABLE items (\n  id INT PRIMARY KEY,\n  name VARCHAR(40) NOT NULL,\n  added_at DATETIME NULL\n)\n';

let api: ApiHarness;
let conn: Connection;
let client: RunnerClient;

beforeAll(async () => {
  const db = await freshDatabase('client');
  conn = db.conn;
  await conn.query('CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)');
  api = await startApi({ targets: { main: db.target }, tokens: [TOKEN], stateSchema: `_sb_client_${process.pid}` });
  client = new RunnerClient({ url: api.url, token: TOKEN.value });
});

afterAll(async () => {
  await api?.close();
  await conn?.end();
});

describe('runner client', () => {
  it('plans, submits idempotently, finds deploys by external metadata and reads them', async () => {
    expect(await client.health()).toEqual({ ok: true });
    expect(await client.targets()).toEqual(['main']);
    const { plan, markdown } = await client.plan({ target: 'main', files: { 'items.sql': DESIRED } });
    expect(plan.changes.map((c) => c.table)).toEqual(['items']);
    expect(markdown).toContain('ALTER TABLE `items`');

    const external = { repo: 'acme/shop', pr: 7 };
    const first = await client.submit({ target: 'main', files: { 'items.sql': DESIRED }, clientKey: 'acme/shop#7@abc', external, actor: 'octocat' });
    const again = await client.submit({ target: 'main', files: { 'items.sql': DESIRED }, clientKey: 'acme/shop#7@abc', external, actor: 'octocat' });
    expect(again.id).toBe(first.id);
    expect(first.submittedBy).toBe('octocat via github-app');

    expect((await client.list({ external: { repo: 'acme/shop', pr: '7' } })).map((d) => d.id)).toEqual([first.id]);
    expect(await client.list({ external: { pr: '8' } })).toEqual([]);
    expect((await client.list({ states: ['queued'], target: 'main' })).map((d) => d.id)).toEqual([first.id]);
    expect((await client.get(first.id)).state).toBe('queued');
    expect((await client.events(first.id)).map((e) => e.kind)).toContain('submitted');
  });

  it('lets exactly one of two racing callers claim an external key', async () => {
    const deploy = await client.submit({ target: 'main', files: { 'items.sql': DESIRED }, clientKey: 'race', external: { repo: 'acme/shop' } });
    const claims = await Promise.all(['app-a', 'app-b', 'app-c'].map((owner) =>
      client.patchExternal(deploy.id, { set: { deployCheckRun: owner }, expect: { deployCheckRun: null } })));
    expect(claims.filter((c) => c.applied)).toHaveLength(1);
    const winner = claims.find((c) => c.applied)!.deploy.external.deployCheckRun;
    for (const lost of claims.filter((c) => !c.applied)) expect(lost.deploy.external.deployCheckRun).toBe(winner);
    expect((await client.get(deploy.id)).external).toEqual({ repo: 'acme/shop', deployCheckRun: winner });

    const removed = await client.patchExternal(deploy.id, { set: { deployCheckRun: null, comment: 12 } });
    expect(removed.deploy.external).toEqual({ repo: 'acme/shop', comment: 12 });
    await expect(client.patchExternal(deploy.id, { set: { huge: 'x'.repeat(20_000) } })).rejects.toMatchObject({ status: 400 });
  });

  it('turns refusals into RunnerErrors with the runner\'s code and message', async () => {
    const deploy = await client.submit({ target: 'main', files: { 'items.sql': DESIRED }, clientKey: 'refusals' });
    await expect(client.command(deploy.id, 'revert', 'octocat')).rejects.toMatchObject({ status: 409, code: 'wrong-state' });
    await expect(client.get('main.999999')).rejects.toMatchObject({ status: 404, code: 'not-found' });
    await expect(client.plan({ target: 'nope', files: {} })).rejects.toMatchObject({ status: 404 });
  });

  it('never puts the token in an error, and refuses credentials in the URL', async () => {
    const wrong = new RunnerClient({ url: api.url, token: 'wrong-token-with-secret-bits' });
    const unauthorized = await wrong.list().catch((e: unknown) => e as RunnerError);
    expect(unauthorized).toMatchObject({ status: 401, code: 'unauthorized' });
    const closed = new RunnerClient({ url: 'http://127.0.0.1:9', token: TOKEN.value, attempts: 2, retryDelayMs: 10 });
    const unreachable = await closed.get('main.1').catch((e: unknown) => e as RunnerError);
    expect(unreachable).toMatchObject({ status: 0, code: 'unreachable' });
    for (const err of [unauthorized, unreachable]) {
      expect(JSON.stringify({ message: (err as Error).message, stack: (err as Error).stack })).not.toMatch(/secret-bits|client-test-token/);
    }
    expect(() => new RunnerClient({ url: 'http://app:hunter2@runner:8080', token: 't' })).toThrow(/must not carry credentials/);
    expect(() => new RunnerClient({ url: 'ftp://runner', token: 't' })).toThrow(/http/);
  });

  it('retries reads through 502/503/504 and gives up after the configured attempts', async () => {
    let calls = 0;
    const flaky = createServer((_req, res) => {
      calls++;
      if (calls < 3) return void res.writeHead(calls === 1 ? 502 : 503).end('<html>bad gateway</html>');
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(flaky.address() as AddressInfo).port}`;
    try {
      expect(await new RunnerClient({ url, token: 't', retryDelayMs: 5 }).health()).toEqual({ ok: true });
      expect(calls).toBe(3);
      calls = 0;
      await expect(new RunnerClient({ url, token: 't', retryDelayMs: 5, attempts: 2 }).health()).rejects.toMatchObject({ status: 503, code: 'http-503' });
      calls = 0;
      await expect(new RunnerClient({ url, token: 't', retryDelayMs: 5 }).command('main.1', 'cutover')).rejects.toMatchObject({ status: 502 });
      expect(calls).toBe(1);
    } finally {
      flaky.close();
    }
  });
});
