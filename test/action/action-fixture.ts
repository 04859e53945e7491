// What an Action test runs against: a fresh database, the real runner HTTP server in front of it
// (with its worker when a test needs deploys to move), a runner token as long as GitHub's, and a
// checked-out workspace of schema files, optionally a git repository with a base commit.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection } from 'mysql2/promise';
import { afterAll, beforeAll } from 'vitest';
import { RunnerClient } from '../../runner/client/runner-client.ts';
import { freshDatabase } from '../support/database.ts';
import { startApi, type ApiHarness } from '../server/api-test-server.ts';

export const REPO = 'acme/shop';

export interface ActionFixture {
  api: ApiHarness;
  conn: Connection;
  /** The same runner through the client the App uses (to submit deploys as the App would). */
  client: RunnerClient;
  token: string;
  /** The inputs every step passes: the runner's URL and token. */
  runnerInputs: Record<string, string>;
  close(): Promise<void>;
}

export async function actionFixture(options: { worker: boolean }): Promise<ActionFixture> {
  const db = await freshDatabase('action');
  // Installation tokens are ~520 characters: nothing may assume a short one.
  const token = randomBytes(390).toString('base64url');
  const api = await startApi({ targets: { main: db.target }, tokens: [{ name: 'release', value: token }], stateSchema: `_sb_${db.target.database}` });
  if (options.worker) api.service.startWorker();
  return {
    api, conn: db.conn, token,
    client: new RunnerClient({ url: api.url, token }),
    runnerInputs: { 'runner-url': api.url, 'runner-token': token },
    async close() {
      await api.close();
      await db.conn.end();
    },
  };
}

/** The fixture of a `describe` block: filled in before its first test, closed after its last. */
export function suiteFixture(options: { worker: boolean }): ActionFixture {
  const fx = {} as ActionFixture;
  beforeAll(async () => {
    Object.assign(fx, await actionFixture(options));
  });
  afterAll(async () => {
    await fx.close?.();
  });
  return fx;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd, encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: cwd, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' },
  }).trim();
}

function writeSchemas(workspace: string, files: Record<string, string>): void {
  mkdirSync(join(workspace, 'schemas'), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(workspace, 'schemas', name), text);
}

/** A checkout: `schemas/` holding `files`; no git history. */
export function workspaceWith(files: Record<string, string>): string {
  const workspace = mkdtempSync(join(tmpdir(), 'schemabot-ws-'));
  writeSchemas(workspace, files);
  return workspace;
}

/** A checkout with history: `base` committed on the base branch, then the pull request's `head` committed on top. */
export function repositoryWith(base: Record<string, string>, head: Record<string, string>): { workspace: string; baseSha: string; headSha: string } {
  const workspace = workspaceWith(base);
  git(workspace, 'init', '-q', '-b', 'main');
  git(workspace, 'add', '-A');
  git(workspace, 'commit', '-q', '-m', 'base');
  const baseSha = git(workspace, 'rev-parse', 'HEAD');
  writeSchemas(workspace, head);
  git(workspace, 'add', '-A');
  git(workspace, 'commit', '-q', '-m', 'head');
  return { workspace, baseSha, headSha: git(workspace, 'rev-parse', 'HEAD') };
}

/** A 40-hex commit id for deploys that need one without a repository. */
export function fakeSha(seed: string): string {
  return Buffer.from(seed.padEnd(20, '.')).subarray(0, 20).toString('hex');
}
