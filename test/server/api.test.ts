// The runner HTTP API against a real DeployService and MariaDB (no worker): authentication, plans,
// idempotent submits, lookups and filters, commands with 409s naming the state, the events' actors,
// error shapes and input limits, and /metrics.
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.ts';
import { startApi, type ApiHarness } from './api-test-server.ts';

const APP = { name: 'github-app', value: 'app-token-0123456789abcdef' };
const RELEASE = { name: 'release', value: 'rel-token-0123456789abcdef' };
/** A plan-only token, as a pull-request workflow would hold. */
const PLANNER = { name: 'pr-plans', value: 'plan-token-0123456789abcdef', scopes: ['plan', 'read'] as const };

const LIVE = 'CREATE TABLE orders (id INT PRIMARY KEY, amount DECIMAL(10,2) NOT NULL, note VARCHAR(20))';
/** A column added in place, and a DECIMAL change that needs a table copy (an online migration). */
const DESIRED = 'CREATE TABLE orders (\n  id INT PRIMARY KEY,\n  amount DECIMAL(12,2) NOT NULL,\n  note VARCHAR(20),\n  shipped_at DATETIME NULL\n)\n';

let api: ApiHarness;
let conn: Connection;

beforeAll(async () => {
  const db = await freshDatabase('api');
  conn = db.conn;
  await conn.query(LIVE);
  await conn.query('INSERT INTO orders VALUES (1, 9.99, NULL), (2, 5.00, "x")');
  api = await startApi({ targets: { main: db.target }, tokens: [APP, RELEASE, PLANNER], stateSchema: `_sb_api_${process.pid}` });
});

afterAll(async () => {
  await api?.close();
  await conn?.end();
});

function submit(clientKey: string, extra: Record<string, unknown> = {}) {
  return api.call('POST', '/v1/deploys', { body: { target: 'main', files: { 'orders.sql': DESIRED }, clientKey, ...extra } });
}

describe('authentication', () => {
  it('lets /healthz through and wants a known bearer token everywhere else', async () => {
    expect(await api.call('GET', '/healthz', { token: null })).toMatchObject({ status: 200, body: { ok: true } });
    for (const token of [null, 'nope', APP.value.slice(0, -1), `${APP.value}x`, '']) {
      const res = await api.call('GET', '/v1/deploys', { token });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect((await api.call('GET', '/metrics', { token: null })).status).toBe(401);
    expect((await api.call('GET', '/v1/no-such-route', { token: null })).status).toBe(401);
    expect((await api.call('GET', '/v1/deploys', { token: RELEASE.value })).status).toBe(200);
  });
});

describe('token scopes', () => {
  it('lets a token do only what its scopes allow, and says which scope is missing', async () => {
    const plan = await api.call('POST', '/v1/plans', { token: PLANNER.value, body: { target: 'main', files: { 'orders.sql': DESIRED } } });
    expect(plan.status).toBe(200);
    expect((await api.call('GET', '/v1/deploys', { token: PLANNER.value })).status).toBe(200);
    const refused = await api.call('POST', '/v1/deploys', { token: PLANNER.value, body: { target: 'main', files: { 'orders.sql': DESIRED }, clientKey: 'scoped' } });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toEqual({ code: 'forbidden', message: 'token "pr-plans" may not submit (its scopes: plan, read)' });
    expect(await api.service.list({ external: {} })).not.toContainEqual(expect.objectContaining({ clientKey: 'scoped' }));
    const deploy = (await submit('scopes-cutover')).body;
    for (const command of ['cutover', 'pause', 'abort', 'revert']) {
      expect((await api.call('POST', `/v1/deploys/${deploy.id}/${command}`, { token: PLANNER.value })).status).toBe(403);
    }
    expect((await api.call('PATCH', `/v1/deploys/${deploy.id}/external`, { token: PLANNER.value, body: { set: { x: 1 } } })).status).toBe(403);
    expect((await api.call('GET', '/metrics', { token: PLANNER.value })).status).toBe(200);
    expect((await api.service.get(deploy.id)).state).toBe('queued');
    expect((await api.call('POST', `/v1/deploys/${deploy.id}/abort`)).body.state).toBe('aborted');
  });
});

describe('plans', () => {
  it('plans files against the live target', async () => {
    const res = await api.call('POST', '/v1/plans', { body: { target: 'main', files: { 'orders.sql': DESIRED } } });
    expect(res.status).toBe(200);
    expect(res.body.plan.changes.map((c: { table: string }) => c.table)).toEqual(['orders']);
    expect(res.body.markdown).toContain('ALTER TABLE `orders`');
  });

  it('refuses what cannot be planned', async () => {
    const unknownTarget = await api.call('POST', '/v1/plans', { body: { target: 'other', files: { 'orders.sql': DESIRED } } });
    expect(unknownTarget).toMatchObject({ status: 404, body: { error: { code: 'not-found' } } });
    expect(unknownTarget.body.error.message).toContain('other');
    const noFiles = await api.call('POST', '/v1/plans', { body: { target: 'main', files: {} } });
    expect(noFiles).toMatchObject({ status: 400, body: { error: { code: 'bad-input' } } });
  });
});

describe('deploys', () => {
  let id: string;

  it('creates a deploy once per client key (201, then 200 with the same deploy)', async () => {
    const first = await submit('pr-12-merge', {
      cutover: 'gated', external: { repo: 'octo/shop', pr: 12, sha: 'abc123' }, actor: 'alice',
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      target: 'main', state: 'queued', cutover: 'gated', clientKey: 'pr-12-merge', submittedBy: 'alice via github-app',
      external: { repo: 'octo/shop', pr: 12, sha: 'abc123' },
    });
    expect(first.body.migrations.map((m: { method: string }) => m.method)).toContain('online');
    id = first.body.id;

    const again = await submit('pr-12-merge', { actor: 'bob' });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(id);
    expect(again.body.submittedBy).toBe('alice via github-app');
    expect((await api.call('GET', `/v1/deploys/${id}`)).body).toMatchObject({ id, state: 'queued' });
  });

  it('filters the list by state, target and external values', async () => {
    const ids = async (query: string) => {
      const res = await api.call('GET', `/v1/deploys${query}`);
      expect(res.status).toBe(200);
      return res.body.deploys.map((d: { id: string }) => d.id);
    };
    expect(await ids('?external.repo=octo/shop&external.pr=12')).toEqual([id]);
    expect(await ids('?external.repo=octo/shop&external.pr=13')).toEqual([]);
    expect(await ids('?state=queued,running&target=main&limit=10')).toContain(id);
    expect(await ids('?state=complete')).not.toContain(id);
  });

  it('answers 409 naming the current state when a command does not apply', async () => {
    const cutover = await api.call('POST', `/v1/deploys/${id}/cutover`, { body: { actor: 'alice' } });
    expect(cutover.status).toBe(409);
    expect(cutover.body.error).toMatchObject({ code: 'wrong-state', state: 'queued' });
    expect(cutover.body.error.message).toContain('queued');
    expect((await api.call('POST', `/v1/deploys/${id}/revert`)).body.error.state).toBe('queued');
    const impact = await api.call('GET', `/v1/deploys/${id}/revert-impact`);
    expect(impact.status).toBe(409);
    expect(impact.body.error).toMatchObject({ code: 'wrong-state', state: 'queued' });
  });

  it('records who commanded what, with or without a body', async () => {
    const pause = await api.call('POST', `/v1/deploys/${id}/pause`, { body: { actor: 'carol' }, token: RELEASE.value });
    expect(pause).toMatchObject({ status: 200, body: { id, paused: true } });
    expect((await api.call('POST', `/v1/deploys/${id}/resume`)).body.paused).toBe(false);
    const aborted = await api.call('POST', `/v1/deploys/${id}/abort`, { body: {} });
    expect(aborted.body.state).toBe('aborted');

    const events = await api.call('GET', `/v1/deploys/${id}/events`);
    expect(events.status).toBe(200);
    const actors = events.body.events.map((e: { kind: string; actor: string }) => `${e.kind}:${e.actor}`);
    expect(actors).toEqual(expect.arrayContaining(['pause-requested:carol via release', 'resume-requested:github-app', 'abort-requested:github-app']));
    expect(events.body.events.some((e: { actor: string }) => e.actor === 'alice via github-app')).toBe(true);

    const again = await api.call('POST', `/v1/deploys/${id}/abort`);
    expect(again.body.error).toMatchObject({ code: 'wrong-state', state: 'aborted' });
  });

  it('answers 404 for deploys that do not exist', async () => {
    expect((await api.call('GET', '/v1/deploys/main.999999')).status).toBe(404);
    expect((await api.call('GET', '/v1/deploys/other.1/events')).status).toBe(404);
    expect((await api.call('POST', '/v1/deploys/main.999999/pause')).status).toBe(404);
  });

  it('refuses a plan with errors or without changes, naming why', async () => {
    const broken = await api.call('POST', '/v1/deploys', { body: { target: 'main', files: { 'orders.sql': 'CREATE TABLE orders (id INT PRIMARY KEY,' }, clientKey: 'broken' } });
    expect(broken.status).toBe(400);
    expect(broken.body.error.message).toContain('orders.sql');
    const same = await api.call('POST', '/v1/deploys', { body: { target: 'main', files: { 'orders.sql': `${LIVE}\n` }, clientKey: 'same' } });
    expect(same.status).toBe(400);
    expect(same.body.error.message).toContain('no changes');
  });
});

describe('input validation', () => {
  const files = { 'orders.sql': DESIRED };
  const cases: [string, string, string, unknown, RegExp][] = [
    ['missing target', 'POST', '/v1/plans', { files }, /body must have required property 'target'/],
    ['bad target name', 'POST', '/v1/plans', { target: 'Main DB', files }, /body\/target must match pattern/],
    ['file name with a path', 'POST', '/v1/plans', { target: 'main', files: { '../etc/x.sql': '' } }, /body\/files: "\.\.\/etc\/x\.sql" is not a valid file name/],
    ['file that is not .sql', 'POST', '/v1/plans', { target: 'main', files: { 'orders.txt': '' } }, /"orders\.txt" is not a valid file name/],
    ['file contents not text', 'POST', '/v1/plans', { target: 'main', files: { 'a.sql': 1 } }, /body\/files\/a\.sql must be string/],
    ['too many files', 'POST', '/v1/plans', { target: 'main', files: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`t${i}.sql`, ''])) }, /body\/files must NOT have more than 1000 properties/],
    ['unknown field', 'POST', '/v1/plans', { target: 'main', files, sql: 'DROP TABLE x' }, /body: unknown field "sql"/],
    ['missing client key', 'POST', '/v1/deploys', { target: 'main', files }, /required property 'clientKey'/],
    ['long client key', 'POST', '/v1/deploys', { target: 'main', files, clientKey: 'k'.repeat(201) }, /body\/clientKey must NOT have more than 200 characters/],
    ['bad cutover mode', 'POST', '/v1/deploys', { target: 'main', files, clientKey: 'k', cutover: 'now' }, /body\/cutover must be equal to one of the allowed values/],
    ['bad cutoverAfter', 'POST', '/v1/deploys', { target: 'main', files, clientKey: 'k', cutoverAfter: 'tomorrow' }, /body\/cutoverAfter must match format "date-time"/],
    ['external not an object', 'POST', '/v1/deploys', { target: 'main', files, clientKey: 'k', external: 'x' }, /body\/external must be object/],
    ['actor with spaces', 'POST', '/v1/deploys/main.1/pause', { actor: 'a b' }, /body\/actor must match pattern/],
    ['malformed deploy id', 'GET', '/v1/deploys/main', undefined, /params\/id must match pattern/],
    ['unknown list filter', 'GET', '/v1/deploys?repo=x', undefined, /unknown query parameter "repo"/],
    ['unknown state', 'GET', '/v1/deploys?state=done', undefined, /state "done" is not one of queued, running/],
    ['limit out of range', 'GET', '/v1/deploys?limit=0', undefined, /limit must be an integer from 1 to 1000/],
    ['repeated filter', 'GET', '/v1/deploys?target=a&target=b', undefined, /query parameter target is given more than once/],
  ];
  it.each(cases)('400 for %s', async (_name, method, path, body, message) => {
    const res = await api.call(method, path, { body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('bad-input');
    expect(res.body.error.message).toMatch(message);
  });

  it('refuses bodies that are not JSON or larger than 2 MB', async () => {
    const notJson = await api.call('POST', '/v1/plans', { raw: '{"target": "main", files' });
    expect(notJson).toMatchObject({ status: 400, body: { error: { code: 'bad-input' } } });
    const huge = await api.call('POST', '/v1/plans', { body: { target: 'main', files: { 'a.sql': 'x'.repeat(2 * 1024 * 1024) } } });
    expect(huge).toMatchObject({ status: 413, body: { error: { code: 'too-large' } } });
  });

  it('answers unknown routes with a JSON 404', async () => {
    expect(await api.call('GET', '/v1/nothing-here')).toMatchObject({ status: 404, body: { error: { code: 'not-found', message: 'no such route (GET)' } } });
  });
});

describe('metrics', () => {
  it('reports non-final deploys by state, online migrations, and what the worker observed', async () => {
    const created = await submit('metrics-1', { cutover: 'gated' });
    expect(created.status).toBe(201);
    api.metrics.observer.throttled(1.5, 'replica db2:3306 lag 2400 ms > 1500 ms');
    api.metrics.observer.throttled(0.5, 'Threads_running=80 > 50');
    api.metrics.observer.cutOverStall(42);
    api.metrics.observer.rowsCopied(1000);

    const res = await api.call('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = res.body as string;
    expect(text).toMatch(/^schemabot_target_up\{target="main"\} 1$/m);
    expect(text).toMatch(/^schemabot_deploys\{state="queued"\} 1$/m);
    expect(text).toMatch(/^schemabot_deploys\{state="running"\} 0$/m);
    expect(text).not.toContain('state="aborted"');
    expect(text).toContain(`schemabot_migration_rows_copied{target="main",deploy="${created.body.id}",table="orders"} 0`);
    expect(text).toContain(`schemabot_migration_lag_ms{target="main",deploy="${created.body.id}",table="orders"} 0`);
    expect(text).toMatch(/^schemabot_throttled_seconds_total\{reason="replica-lag"\} 1\.5$/m);
    expect(text).toMatch(/^schemabot_throttled_seconds_total\{reason="threads-running"\} 0\.5$/m);
    expect(text).toMatch(/^schemabot_cutover_stall_seconds_bucket\{le="0\.05"\} 1$/m);
    expect(text).toMatch(/^schemabot_rows_copied_total 1000$/m);
  });
});
