// What the App's hardening tests share: a table on a fresh database with a runner and the App (opened
// before a file's tests, closed after them), an installation Octokit of the App on a local GitHub, and
// a reconciler whose passes a test drives itself.
import type { Connection } from 'mysql2/promise';
import pino from 'pino';
import { Probot, type ProbotOctokit } from 'probot';
import { afterAll, beforeAll } from 'vitest';
import { freshDatabase } from '../support/database.ts';
import { identitySigner } from '../../app/deploy-external.ts';
import { schemabotOctokit } from '../../app/github-octokit.ts';
import type { LocalGitHub } from '../../app/local-github/local-github.ts';
import { Reconciler } from '../../app/reconciler.ts';
import { RunnerRegistry, type RunnerBinding } from '../../app/runner-registry.ts';
import { StickyComments } from '../../app/sticky-comment.ts';
import { APP_ID, INSTALLATION, startApp, TestRunner, WEBHOOK_SECRET, type AppHarness } from './app-harness.ts';

export const USERS = 'CREATE TABLE users (\n  id INT NOT NULL AUTO_INCREMENT,\n  email VARCHAR(100) NOT NULL,\n  PRIMARY KEY (id)\n);\n';
export const USERS_WITH_NAME = USERS.replace('  PRIMARY KEY', '  name VARCHAR(40) NULL,\n  PRIMARY KEY');

export interface AppStack {
  conn: Connection;
  runner: TestRunner;
  harness: AppHarness;
}

/** A fresh database with `tables` (CREATE statements), a runner on it and the App; its fields are set once the file's tests run. */
export function useAppStack(name: string, tables: string[] = [USERS]): AppStack {
  const stack = {} as AppStack;
  beforeAll(async () => {
    const db = await freshDatabase(`app_${name}`);
    stack.conn = db.conn;
    for (const table of tables) await db.conn.query(table);
    stack.runner = await new TestRunner(db.target, `_sb_app_${name}_${process.pid}`).start();
    stack.harness = await startApp(stack.runner);
  });
  afterAll(async () => {
    await stack.harness?.close();
    await stack.runner?.close();
    await stack.conn?.end();
  });
  return stack;
}

function appProbot(github: LocalGitHub): Probot {
  return new Probot({ appId: APP_ID, privateKey: github.app.privateKey, baseUrl: github.url, Octokit: schemabotOctokit({ retryBaseMs: 5, throttle: false }) });
}

/** The App's Octokit for its installation on `github`, as its handlers get it. */
export function appOctokit(github: LocalGitHub): Promise<ProbotOctokit> {
  return appProbot(github).auth(INSTALLATION);
}

/** A reconciler over `bindings` that runs a pass only when the test calls `pass()`. */
export function drivenReconciler(github: LocalGitHub, bindings: RunnerBinding[]): Reconciler {
  const probot = appProbot(github);
  return new Reconciler({
    registry: new RunnerRegistry(bindings, { attempts: 1 }), github: (installation) => probot.auth(installation),
    signer: identitySigner(WEBHOOK_SECRET), sticky: new StickyComments(WEBHOOK_SECRET), log: pino({ level: 'silent' }), intervalMs: 1e9, progressIntervalMs: 0,
  });
}
