// No token or database password ever appears in a log line, an error or a response: the config
// comes from the real parser with secrets in the environment, and requests drive every error path
// (wrong tokens, a target whose password is wrong, an unreachable target, bad input, secrets pasted
// into URLs and bodies). Everything logged and every response (headers and body) is searched.
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSecrets, ConfigError, parseConfig } from '../../runner/server/config.ts';
import { freshDatabase } from '../support/database.ts';
import { startApi, type ApiHarness } from './api-test-server.ts';

const TOKEN_APP = 'tApp-6f1d0c2e9b8a7f3e5d4c';
const TOKEN_CI = 'tCi-0a9b8c7d6e5f4a3b2c1d';
const PASSWORD = 'Pw-9s"8d\\7f/6g@5h';
const WRONG_PASSWORD = 'Wrong-pw-1q2w3e4r5t';
const SECRETS = [TOKEN_APP, TOKEN_CI, PASSWORD, WRONG_PASSWORD];

let api: ApiHarness;
let admin: Connection;
const printed: string[] = [];
const user = `sb_secret_${process.pid}`;

beforeAll(async () => {
  const db = await freshDatabase('secrets');
  admin = db.conn;
  await admin.query('CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20))');
  await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY ?`, [PASSWORD]);
  await admin.query(`GRANT ALL ON *.* TO '${user}'@'%'`);
  const { port } = db.target;
  const config = parseConfig(`
tokens: [{ name: app, env: T_APP }, { name: ci, env: T_CI }]
targets:
  good: { dsn: "mysql://${user}@127.0.0.1:${port}/${db.target.database}", passwordEnv: GOOD_PW }
  badpw: { dsn: "mysql://${user}@127.0.0.1:${port}/${db.target.database}", passwordEnv: BAD_PW }
  down: { dsn: "mysql://${user}@127.0.0.1:1/${db.target.database}", passwordEnv: GOOD_PW }
`, { T_APP: TOKEN_APP, T_CI: TOKEN_CI, GOOD_PW: PASSWORD, BAD_PW: WRONG_PASSWORD });
  expect(configSecrets(config).sort()).toEqual([PASSWORD, PASSWORD, TOKEN_APP, TOKEN_CI, WRONG_PASSWORD].sort());

  // Anything the service or a driver prints straight to the console is searched too.
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      printed.push(String(chunk));
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
  }
  api = await startApi({ targets: config.targets, tokens: config.tokens, secrets: configSecrets(config), stateSchema: `_sb_secrets_${process.pid}` });
});

afterAll(async () => {
  await api?.close();
  await admin?.query(`DROP USER IF EXISTS '${user}'@'%'`);
  await admin?.end();
});

describe('secrets stay out of logs and responses', () => {
  it('drives every error path, then finds no secret anywhere', async () => {
    const files = { 'items.sql': 'CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20), qty INT)\n' };

    // Wrong tokens, including near misses and secrets in the wrong place.
    for (const token of [TOKEN_APP.slice(0, -1), `${TOKEN_APP} ${TOKEN_CI}`, PASSWORD]) {
      expect((await api.call('GET', '/v1/deploys?target=good', { token })).status).toBe(401);
    }
    expect((await api.call('GET', `/v1/deploys?token=${encodeURIComponent(TOKEN_CI)}`)).status).toBe(400);
    expect((await api.call('GET', `/v1/${encodeURIComponent(PASSWORD)}`)).status).toBe(404);
    expect((await api.call('POST', '/v1/plans', { raw: `{"target": "good", "files": ${PASSWORD}` })).status).toBe(400);
    expect((await api.call('POST', '/v1/plans', { body: { target: 'good', files: { [`${TOKEN_CI}.sql`]: 'x' }, password: PASSWORD } })).status).toBe(400);

    // A working target, so the success paths are logged too.
    expect((await api.call('POST', '/v1/plans', { body: { target: 'good', files } })).status).toBe(200);
    const created = await api.call('POST', '/v1/deploys', { body: { target: 'good', files, clientKey: 'k1', actor: 'alice' } });
    expect(created.status).toBe(201);
    expect((await api.call('POST', `/v1/deploys/${created.body.id}/cutover`)).status).toBe(409);

    // A target whose password is wrong, and one that is not reachable: generic 500s.
    for (const target of ['badpw', 'down']) {
      for (const [method, path, body] of [
        ['POST', '/v1/plans', { target, files }],
        ['POST', '/v1/deploys', { target, files, clientKey: `k-${target}` }],
        ['GET', `/v1/deploys?target=${target}`, undefined],
        ['GET', `/v1/deploys/${target}.1`, undefined],
        ['POST', `/v1/deploys/${target}.1/abort`, {}],
      ] as const) {
        const res = await api.call(method, path, { body, token: TOKEN_CI });
        expect(res.status, `${method} ${path}`).toBe(500);
        expect(res.body.error).toEqual({ code: 'internal', message: 'internal error: the runner logged the details' });
      }
    }
    const metrics = await api.call('GET', '/metrics');
    expect(metrics.body).toMatch(/^schemabot_target_up\{target="good"\} 1$/m);
    expect(metrics.body).toMatch(/^schemabot_target_up\{target="badpw"\} 0$/m);

    const logged = api.logs.join('');
    expect(logged).toContain('Access denied');
    expect(logged).toContain('ECONNREFUSED');
    expect(logged).toContain('[secret]');
    const everything = [logged, ...api.responses, ...printed].join('\n');
    for (const secret of SECRETS) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(encodeURIComponent(secret));
      expect(everything).not.toContain(JSON.stringify(secret).slice(1, -1));
    }
  });

  it('keeps a password written into a config DSN out of the refusal', () => {
    for (const dsn of [`mysql://u:${PASSWORD}@db1/shop`, `mysql://u:${WRONG_PASSWORD}@db1`, `postgres://u:${PASSWORD}@db1/shop`]) {
      const text = `tokens: [{ name: app, env: T_APP }]\ntargets:\n  main: { dsn: ${JSON.stringify(dsn)} }\n`;
      expect(() => parseConfig(text, { T_APP: TOKEN_APP })).toThrow(ConfigError);
      try {
        parseConfig(text, { T_APP: TOKEN_APP });
      } catch (err) {
        for (const secret of SECRETS) expect((err as Error).message).not.toContain(secret);
      }
    }
  });
});
