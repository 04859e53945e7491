// The service verbs on the command line (`apply`, `status`, `cutover`, `abort`) with --dsn and with
// --config, a gated online deploy run in the foreground through its gate to completion, a deploy
// that fails (exit 1 with the error), and `serve` answering HTTP until SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import type { RowDataPacket } from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.ts';

const BIN = new URL('../../bin/schemabot.js', import.meta.url).pathname;
const TOKEN = 'cli-serve-token-0123456789';

const LIVE = 'CREATE TABLE orders (id INT PRIMARY KEY, amount DECIMAL(10,2) NOT NULL, note VARCHAR(20))';
/** A DECIMAL widening needs a table copy: an online migration. */
const WIDER = 'CREATE TABLE orders (\n  id INT PRIMARY KEY,\n  amount DECIMAL(14,2) NOT NULL,\n  note VARCHAR(20)\n)\n';

let conn: Connection;
let dsn: string;
let dir: string;

function schemabot(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

function schemaDir(name: string, files: Record<string, string>): string {
  const path = join(dir, name);
  rmSync(path, { recursive: true, force: true });
  mkdirSync(path);
  for (const [file, text] of Object.entries(files)) writeFileSync(join(path, file), text);
  return path;
}

beforeAll(async () => {
  const db = await freshDatabase('deploycli');
  conn = db.conn;
  dsn = db.dsn;
  await conn.query(LIVE);
  await conn.query("INSERT INTO orders VALUES (1, 9.99, 'short'), (2, 5.00, 'a longer note'), (3, 1.50, NULL)");
  dir = mkdtempSync(join(tmpdir(), 'schemabot-deploy-cli-'));
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await conn?.end();
});

describe('schemabot deploy verbs (CLI)', () => {
  it('submits detached, lists, refuses a wrong-state command in one line, aborts', () => {
    const schemas = schemaDir('detached', { 'orders.sql': WIDER, 'README.md': 'not a schema' });
    const applied = schemabot(['apply', '--dsn', dsn, '--schema-dir', schemas, '--gated', '--detach', '--json', '--client-key', 'cli-detached']);
    expect(applied.stderr).toContain('submitted');
    expect(applied.status).toBe(0);
    const deploy = JSON.parse(applied.stdout);
    expect(deploy).toMatchObject({ state: 'queued', cutover: 'gated', clientKey: 'cli-detached' });
    expect(deploy.submittedBy).toMatch(/^cli:/);
    expect(deploy.target).toMatch(/^deploycli_\d+_\d+$/);

    const listed = schemabot(['status', '--dsn', dsn, '--json']);
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.stdout).map((d: { id: string }) => d.id)).toContain(deploy.id);
    const human = schemabot(['status', '--dsn', dsn, '--deploy', deploy.id]);
    expect(human.stdout).toContain(`${deploy.id} queued 0.0% ETA -- (cutover gated)`);
    expect(human.stdout).toMatch(/ {2}orders queued online\/COPY 0\.0% 0\/\d+ rows/);

    const cutover = schemabot(['cutover', '--dsn', dsn, '--deploy', deploy.id]);
    expect(cutover.status).toBe(1);
    expect(cutover.stderr.trim().split('\n')).toHaveLength(1);
    expect(cutover.stderr).toContain('schemabot: not now: cannot cutover a deploy that is queued');
    expect(cutover.stderr).toContain('(the deploy is queued)');

    const aborted = schemabot(['abort', '--dsn', dsn, '--deploy', deploy.id, '--json']);
    expect(aborted.status).toBe(0);
    expect(JSON.parse(aborted.stdout).state).toBe('aborted');
    expect(JSON.parse(schemabot(['status', '--dsn', dsn, '--json']).stdout)).toEqual([]);
    expect(schemabot(['pause', '--dsn', dsn]).stderr).toContain("required option '--deploy <id>' not specified");
  });

  it('runs a gated online deploy in the foreground to its gate, then through cut-over', async () => {
    const schemas = schemaDir('gated', { 'orders.sql': WIDER });
    const args = ['apply', '--dsn', dsn, '--schema-dir', schemas, '--gated', '--json', '--client-key', 'cli-gated'];
    const toGate = schemabot(args);
    expect(toGate.stderr).toContain('ready to cut over: schemabot cutover --deploy');
    expect(toGate.status).toBe(0);
    const deploy = JSON.parse(toGate.stdout);
    expect(deploy.state).toBe('ready-to-cutover');
    expect(toGate.stderr).toMatch(/ {2}orders ready-to-cutover online\/COPY 100\.0% 3\/3 rows/);

    expect(schemabot(['cutover', '--dsn', dsn, '--deploy', deploy.id]).status).toBe(0);
    const done = schemabot(args);
    expect(done.stderr).toContain(`${deploy.id} already exists for client key cli-gated: following it`);
    expect(done.status).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ id: deploy.id, state: 'complete', percent: 100 });
    const [columns] = await conn.query<RowDataPacket[]>("SHOW COLUMNS FROM orders LIKE 'amount'");
    expect(columns[0].Type).toBe('decimal(14,2)');
  });

  it('exits 1 with the error when the deploy fails', () => {
    const narrowed = 'CREATE TABLE orders (\n  id INT PRIMARY KEY,\n  amount DECIMAL(14,2) NOT NULL,\n'
      + '  note VARCHAR(5) -- schemabot:ignore SB103 test: the copy must fail on the long note\n)\n';
    const failed = schemabot(['apply', '--dsn', dsn, '--schema-dir', schemaDir('narrow', { 'orders.sql': narrowed })]);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/schemabot: error: deploy \S+ failed: .*note/);
    expect(failed.stderr).toContain("Data too long for column 'note'");
    expect(failed.stdout).toMatch(/^\S+ failed .* error: /);
  });

  it('works from a config file, and needs --target when it names several', () => {
    const config = join(dir, 'runner.yml');
    writeFileSync(config, `tokens: [{ name: app, env: UNSET_TOKEN_VAR }]\ntargets:\n  shop: { dsn: "${dsn}" }\n  other: { dsn: "${dsn}" }\n`);
    const schemas = schemaDir('config', { 'orders.sql': WIDER });
    const noTarget = schemabot(['apply', '--config', config, '--schema-dir', schemas]);
    expect(noTarget.status).toBe(1);
    expect(noTarget.stderr).toContain('--target is required');
    expect(schemabot(['status', '--config', config, '--target', 'shop']).stdout).toContain('no deploys in progress');
    expect(schemabot(['status', '--config', config, '--target', 'nope']).stderr).toContain('no target "nope"');
    expect(schemabot(['status', '--config', config, '--dsn', dsn]).stderr).toContain('use either --config');
  });

  it('serves the API until SIGTERM, logging where it listens and no secret', async () => {
    const config = join(dir, 'serve.yml');
    writeFileSync(config, `listen: { host: 127.0.0.1, port: 0 }\ntokens: [{ name: app, env: SB_TEST_TOKEN }]\ntargets:\n  shop: { dsn: "${dsn}" }\n`);
    const child = spawn(process.execPath, [BIN, 'serve', '--config', config], { env: { ...process.env, SB_TEST_TOKEN: TOKEN } });
    let output = '';
    child.stderr.on('data', (chunk) => { output += chunk; });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk) => {
        output += chunk;
        const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (match) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`serve exited ${code}: ${output}`)));
    });
    expect((await (await fetch(`${url}/healthz`)).json())).toEqual({ ok: true });
    const list = await fetch(`${url}/v1/deploys?state=complete`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(list.status).toBe(200);
    expect((await list.json()).deploys.length).toBeGreaterThan(0);
    expect((await fetch(`${url}/v1/deploys`)).status).toBe(401);

    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('runner started');
    expect(output).toContain('SIGTERM: stopping');
    expect(output).not.toContain(TOKEN);
  });
});
