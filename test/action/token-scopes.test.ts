// The example workflows give each runner token only the scopes it needs, and those scopes are enough:
// each step runs here with a token scoped as its example says (the plan with [read, plan], submit with
// [read, plan, submit], the cut-over with [read, cutover]); a plan token cannot release a cut-over; the
// cut-over and submit tokens are environment secrets of environments limited to main.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Scope } from '../../runner/server/auth.ts';
import { freshDatabase } from '../support/database.ts';
import { startApi, type ApiHarness } from '../server/api-test-server.ts';
import { REPO_ROOT } from '../../scripts/build-action.ts';
import { fakeSha, REPO, workspaceWith } from './action-fixture.ts';
import { runAction } from './action-run.ts';

interface Step { uses?: string; with?: Record<string, string> }
interface Job { environment?: string; steps: Step[] }

const examplesDir = join(REPO_ROOT, 'examples', 'workflows');
const examples = readdirSync(examplesDir).map((name) => readFileSync(join(examplesDir, name), 'utf8'));
const secretOf = (step: Step) => /secrets\.([A-Z_]+)/.exec(step.with?.['runner-token'] ?? '')?.[1] ?? '';
const steps = examples.flatMap((text) => Object.values((parse(text) as { jobs: Record<string, Job> }).jobs)
  .flatMap((job) => job.steps.filter((s) => s.uses?.startsWith('schemabot/schemabot@')).map((step) => ({ job, step, secret: secretOf(step) }))));

/** The scopes the examples' set-up comments give each secret: `SECRET… scopes [a, b]`. */
function documentedScopes(): Map<string, Scope[]> {
  const scopes = new Map<string, Scope[]>();
  for (const text of examples) {
    for (const m of text.matchAll(/(SCHEMABOT_[A-Z_]+_TOKEN)\b[^\n]*?scopes \[([a-z, ]+)\]/g)) scopes.set(m[1], m[2].split(',').map((s) => s.trim()) as Scope[]);
  }
  return scopes;
}

const ORDERS = 'CREATE TABLE orders (\n  id INT NOT NULL,\n  PRIMARY KEY (id)\n);\n';
const WIDENED = 'CREATE TABLE orders (\n  id INT NOT NULL,\n  note VARCHAR(20) NULL,\n  PRIMARY KEY (id)\n);\n';

let api: ApiHarness;
let end: () => Promise<void>;
const tokens = new Map<string, string>();

beforeAll(async () => {
  const db = await freshDatabase('action_scopes');
  await db.conn.query(ORDERS);
  for (const secret of documentedScopes().keys()) tokens.set(secret, randomBytes(40).toString('base64url'));
  api = await startApi({
    targets: { main: db.target }, stateSchema: `_sb_${db.target.database}`,
    tokens: [...documentedScopes()].map(([secret, scopes]) => ({ name: secret.toLowerCase(), value: tokens.get(secret)!, scopes })),
  });
  api.service.startWorker();
  end = async () => {
    await api.close();
    await db.conn.end();
  };
});

afterAll(async () => {
  await end?.();
});

const push = (sha: string) => ({ GITHUB_REPOSITORY: REPO, GITHUB_SHA: sha, GITHUB_ACTOR: 'release-manager' });
const inputsOf = (command: string, secret: string) => ({ 'runner-url': api.url, 'runner-token': tokens.get(secret)!, command, environment: 'main', 'schema-dir': 'schemas' });
const secretFor = (command: string) => steps.find((s) => s.step.with?.command === command)!.secret;

describe('the example workflows\' runner tokens', () => {
  it('are scoped as little as each step needs, and kept where only that step gets them', () => {
    const scopes = documentedScopes();
    expect(Object.fromEntries(scopes)).toEqual({
      SCHEMABOT_PLAN_TOKEN: ['read', 'plan'], SCHEMABOT_CUTOVER_TOKEN: ['read', 'cutover'], SCHEMABOT_SUBMIT_TOKEN: ['read', 'plan', 'submit'],
    });
    for (const { job, step, secret } of steps) {
      expect(scopes.has(secret), `${secret} has documented scopes`).toBe(true);
      if (step.with?.command === 'cutover') expect([secret, job.environment]).toEqual(['SCHEMABOT_CUTOVER_TOKEN', 'production-schema']);
      if (step.with?.command === 'submit') expect([secret, job.environment]).toEqual(['SCHEMABOT_SUBMIT_TOKEN', 'schema-submit']);
      if (step.with?.command === 'plan') expect([secret, job.environment]).toEqual(['SCHEMABOT_PLAN_TOKEN', undefined]);
    }
  });

  it('are enough for the step that uses them, and no more', async () => {
    const workspace = workspaceWith({ 'orders.sql': WIDENED });
    const plan = await runAction({ inputs: inputsOf('plan', secretFor('plan')), workspace, env: push(fakeSha('scopes-plan')) });
    expect(plan.status, plan.stdout).toBe(0);
    expect(plan.summary).toContain('ALTER TABLE `orders`');

    const sha = fakeSha('scopes-merge');
    const byPlanToken = await runAction({ inputs: inputsOf('submit', secretFor('plan')), workspace, env: push(sha) });
    expect(byPlanToken.status).toBe(1);
    expect(byPlanToken.stdout).toMatch(/may not submit/);
    const submit = await runAction({ inputs: inputsOf('submit', secretFor('submit')), workspace, env: push(sha) });
    expect(submit.status, submit.stdout).toBe(0);
    const id = submit.outputs['deploy-id'];

    const released = await runAction({ inputs: { ...inputsOf('cutover', secretFor('plan')), 'timeout-minutes': '2' }, env: push(sha) });
    expect(released.status).toBe(1);
    expect(released.stdout).toMatch(/may not cutover/);
    expect((await api.service.get(id)).cutoverRequestedBy).toBeUndefined();

    const cutover = await runAction({ inputs: { ...inputsOf('cutover', secretFor('cutover')), 'timeout-minutes': '2' }, env: push(sha) });
    expect(cutover.status, cutover.stdout).toBe(0);
    expect(cutover.outputs).toEqual({ 'deploy-id': id, state: 'complete' });
  });
});
