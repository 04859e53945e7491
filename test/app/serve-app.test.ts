// `schemabot serve --config runner.yml --app`: the runner and the App in one process, the App bound to
// the runner under its token's environment variable, configured like a hosted App (APP_ID,
// PRIVATE_KEY, WEBHOOK_SECRET, PORT, GHE_HOST); /healthz answers, a signed pull-request event gets its
// plan, and SIGTERM stops both.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { registerApp } from '../../app/local-github/app-registration.ts';
import { LocalGitHub } from '../../app/local-github/local-github.ts';
import { pullRequestEvent } from '../../app/local-github/webhook-events.ts';
import { freshDatabase } from '../support/database.ts';
import { APP_ID, eventually, INSTALLATION, OWNER, REPO, WEBHOOK_SECRET } from './app-harness.ts';

it('runs the runner and the App in one process', async () => {
  const db = await freshDatabase('app_serve');
  await db.conn.query('CREATE TABLE users (id INT NOT NULL AUTO_INCREMENT, PRIMARY KEY (id))');
  const github = await new LocalGitHub(OWNER, REPO, registerApp(APP_ID, WEBHOOK_SECRET), INSTALLATION).start();
  github.permissions.set('dev', 'write');
  const dir = mkdtempSync(join(tmpdir(), 'schemabot-serve-app-'));
  writeFileSync(join(dir, 'runner.yml'), `listen: { port: 0 }\ntokens: [{ name: github-app, env: SCHEMABOT_TOKEN_APP }]\n`
    + `stateSchema: _sb_serve_${process.pid}\ntargets:\n  main: { dsn: "${db.dsn}" }\n`);
  const child = spawn(process.execPath, ['bin/schemabot.js', 'serve', '--config', join(dir, 'runner.yml'), '--app'], {
    env: {
      ...process.env, SCHEMABOT_TOKEN_APP: 'serve-app-runner-token-0123456789', APP_ID: String(APP_ID), PRIVATE_KEY: github.app.privateKey,
      WEBHOOK_SECRET, PORT: '0', GHE_HOST: github.url.replace('http://', ''), GHE_PROTOCOL: 'http',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n')));
  try {
    const runnerUrl = /listening at (http:\/\/127\.0\.0\.1:\d+)/i.exec(await eventually(() => lines.find((l) => /Server listening at/.test(l)), 'the runner'))![1];
    const appUrl = /Listening on (http:\/\/[^ "]+)/.exec(await eventually(() => lines.find((l) => /Listening on http/.test(l)), 'the App'))![1];
    expect(await (await fetch(`${appUrl.replace('localhost', '127.0.0.1')}/healthz`)).json()).toEqual({ ok: true });

    const config = `schemas:\n  - dir: schemas\n    environments:\n      - { name: production, runner: "${runnerUrl}", tokenEnv: SCHEMABOT_TOKEN_APP, target: main }\n`;
    const base = github.commit({ '.github/schemabot.yml': config, 'schemas/users.sql': 'CREATE TABLE users (id INT NOT NULL AUTO_INCREMENT, PRIMARY KEY (id));\n' }, 'main');
    github.openPull(1, base, github.commit({ ...github.filesAt(base), 'schemas/users.sql': 'CREATE TABLE users (id INT NOT NULL AUTO_INCREMENT, name VARCHAR(20) NULL, PRIMARY KEY (id));\n' }));
    github.hookUrl = `${appUrl.replace('localhost', '127.0.0.1')}/api/github/webhooks`;
    expect((await github.deliver('pull_request', pullRequestEvent('opened', github, 1), 'serve-1')).status).toBe(200);
    expect(github.checkRunsNamed('schemabot/plan')[0]).toMatchObject({ conclusion: 'success', output: { title: '1 change' } });
    expect(lines.join('\n')).not.toContain('serve-app-runner-token');
  } finally {
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.once('exit', resolve));
    await github.close();
    await db.conn.end();
    expect(code).toBe(0);
  }
});
