// Brings GitHub up to date with one deploy, from what the runner says now and what the deploy's
// metadata says was posted: the `schemabot/deploy` check run, the GitHub deployment and its statuses,
// the `schemabot/cutover` check run with its button while a gated deploy waits, the
// `schemabot/revert` check run, pending deployment protection rules, and the deploy's line in the
// sticky comment. Progress goes out at most once per `progressIntervalMs` per deploy; state changes
// at once. Returns whether everything is posted (then a final deploy needs no more passes).
import type { Logger } from 'pino';
import type { ProbotOctokit } from 'probot';
import type { DeployView, RunnerClient } from '../runner/client/runner-client.ts';
import { checkName } from './check-names.ts';
import { ensureCreated, identityOf, recordPosted, repoOf, type DeployIdentity } from './deploy-external.ts';
import { deployCheck, deploymentState, revertCheck, statusLine, type CheckState } from './deploy-progress.ts';
import { answerPendingGates } from './protection-rules.ts';
import { md } from './markdown.ts';
import type { RepoRef } from './repo-files.ts';
import type { Signer } from './signer.ts';
import type { StickyComments } from './sticky-comment.ts';

export interface SyncEnvironment {
  client: RunnerClient;
  github(installation: number): Promise<ProbotOctokit>;
  instanceId: string;
  signer: Signer;
  sticky: StickyComments;
  progressIntervalMs: number;
  log: Logger;
}

interface Sync {
  env: SyncEnvironment;
  deploy: DeployView;
  identity: DeployIdentity;
  octokit: ProbotOctokit;
  repo: RepoRef;
  /** Cleared when something could not be posted on this pass. */
  done: boolean;
}

const CUTOVER_BUTTON = [{ label: 'Cut over', identifier: 'cutover', description: 'Swap the tables now' }];

export async function syncDeploy(env: SyncEnvironment, deploy: DeployView): Promise<boolean> {
  const identity = identityOf(deploy, env.signer);
  if (!identity) return true;
  const s: Sync = { env, deploy, identity, octokit: await env.github(identity.installation), repo: repoOf(identity), done: true };
  await syncCheckRun(s, 'deployCheckRun', 'deploy', deployCheck(deploy));
  await syncDeployment(s);
  if (deploy.cutover === 'gated' && (deploy.state === 'ready-to-cutover' || deploy.external.cutoverCheckRun !== undefined)) {
    await syncCheckRun(s, 'cutoverCheckRun', 'cutover', cutoverCheck(deploy));
  }
  if (['reverting', 'reverted'].includes(deploy.state) || deploy.external.revertCheckRun !== undefined) {
    await syncCheckRun(s, 'revertCheckRun', 'revert', revertCheck(deploy, await revertImpactOf(s)));
  }
  s.done = (await answerPendingGates(s.env.client, s.octokit, deploy, identity.repo, s.env.log)) && s.done;
  await syncComment(s);
  return s.done;
}

/** What the `schemabot/cutover` check run says while the deploy waits for its release. */
export const CUTOVER_WAITING = 'Every table is copied and kept in sync with the live one. Cut over with the **Cut over** button, a `/cutover` comment, '
  + 'or the approval of the protected environment.';

function cutoverCheck(deploy: DeployView): CheckState {
  const summary = CUTOVER_WAITING;
  if (deploy.state === 'ready-to-cutover' && !deploy.cutoverRequestedBy) {
    return { status: 'completed', conclusion: 'action_required', title: 'Ready to cut over', summary };
  }
  if (['queued', 'running', 'ready-to-cutover', 'cutting-over'].includes(deploy.state)) {
    const paused = deploy.paused ? ' The deploy is paused: it cuts over once resumed (`/resume`).' : '';
    return { status: 'in_progress', title: statusLine(deploy), summary: `Released by ${md(deploy.cutoverRequestedBy ?? 'the runner')}.${paused}` };
  }
  const cutOver = ['complete', 'reverting', 'reverted'].includes(deploy.state);
  return {
    status: 'completed', conclusion: cutOver ? 'success' : 'cancelled', title: cutOver ? 'Cut over' : statusLine(deploy),
    summary: cutOver ? `Released by ${md(deploy.cutoverRequestedBy ?? 'the runner')}.` : 'The deploy ended before its cut-over.',
  };
}

async function revertImpactOf(s: Sync): Promise<string[]> {
  const events = await s.env.client.events(s.deploy.id);
  const impact = events.filter((e) => e.kind === 'revert-impact').pop();
  return impact ? impact.message.split('\n') : [];
}

/** Creates or updates one check run; in-progress updates are spaced by `progressIntervalMs`. */
async function syncCheckRun(s: Sync, slot: string, kind: 'deploy' | 'cutover' | 'revert', check: CheckState): Promise<void> {
  const { deploy, env } = s;
  const posted = `${deploy.state}|${check.status}|${check.conclusion ?? ''}|${check.title}`;
  const body = {
    status: check.status, ...(check.conclusion ? { conclusion: check.conclusion } : {}),
    output: { title: check.title, summary: check.summary },
    actions: check.conclusion === 'action_required' ? CUTOVER_BUTTON : [],
  };
  let created = false;
  const id = await ensureCreated(env.client, deploy, slot, env.instanceId, async () => {
    created = true;
    const { data } = await s.octokit.rest.checks.create({
      ...s.repo, name: checkName(kind, s.identity.label), head_sha: s.identity.sha, external_id: deploy.id, ...body,
    });
    return data.id;
  }, (orphan) => supersedeCheckRun(s.octokit, s.repo, orphan));
  if (id === undefined) {
    s.done = false;
    return;
  }
  const last = deploy.external[`${slot}Posted`];
  if (!created) {
    if (last === posted) return;
    const sameState = typeof last === 'string' && last.startsWith(`${deploy.state}|`);
    const at = deploy.external[`${slot}At`];
    if (sameState && Date.now() - Number(at ?? 0) < env.progressIntervalMs) {
      s.done = false;
      return;
    }
    // Taking the update's turn: of two instances on the same pass, one posts it.
    const turn = await env.client.patchExternal(deploy.id, { set: { [`${slot}At`]: Date.now() }, expect: { [`${slot}At`]: at ?? null } });
    deploy.external = turn.deploy.external;
    if (!turn.applied) {
      s.done = false;
      return;
    }
    await s.octokit.rest.checks.update({ ...s.repo, check_run_id: id, ...body });
  }
  await recordPosted(env.client, deploy, { [`${slot}Posted`]: posted, [`${slot}At`]: Date.now() });
}

/** A check run made twice by two instances: the one not recorded says so and stops asking for attention. */
export async function supersedeCheckRun(octokit: ProbotOctokit, repo: RepoRef, id: number): Promise<void> {
  await octokit.rest.checks.update({
    ...repo, check_run_id: id, status: 'completed', conclusion: 'neutral', actions: [],
    output: { title: 'Superseded', summary: 'Another check run of the same name reports this deploy.' },
  });
}

/** A deployment made twice by two instances: the one not recorded is made inactive. */
export async function supersedeDeployment(octokit: ProbotOctokit, repo: RepoRef, id: number, environment: string): Promise<void> {
  await octokit.rest.repos.createDeploymentStatus({
    ...repo, deployment_id: id, state: 'inactive', description: 'Superseded: another deployment reports this deploy.', environment: `schema/${environment}`,
  });
}

async function syncDeployment(s: Sync): Promise<void> {
  const { deploy, env, identity } = s;
  const id = await ensureCreated(env.client, deploy, 'deployment', env.instanceId, async () => {
    const { data } = await s.octokit.rest.repos.createDeployment({
      ...s.repo, ref: identity.sha, environment: `schema/${identity.environment}`, task: 'deploy:schema', auto_merge: false,
      required_contexts: [], payload: { deploy: deploy.id }, description: `schemabot deploy ${deploy.id}`.slice(0, 140),
    });
    if (!('id' in data)) throw new Error(`GitHub did not create the deployment: ${data.message ?? 'no id'}`);
    return data.id;
  }, (orphan) => supersedeDeployment(s.octokit, s.repo, orphan, identity.environment));
  if (id === undefined) {
    s.done = false;
    return;
  }
  const state = deploymentState(deploy);
  if (deploy.external.deploymentPosted === state) return;
  await s.octokit.rest.repos.createDeploymentStatus({
    ...s.repo, deployment_id: id, state, description: statusLine(deploy).slice(0, 140), environment: `schema/${identity.environment}`,
  });
  await recordPosted(env.client, deploy, { deploymentPosted: state });
}

async function syncComment(s: Sync): Promise<void> {
  const { deploy, env, identity } = s;
  if (deploy.external.commentPosted === deploy.state) return;
  const lines = [`**${md(identity.environment)}**: ${md(statusLine(deploy))} · deploy \`${md(deploy.id)}\` of ${identity.sha.slice(0, 12)}`];
  if (deploy.state === 'complete') {
    const impact = await env.client.revertImpact(deploy.id).catch(() => []);
    if (impact.length) lines.push('', '<details><summary>What <code>/revert</code> would do now</summary>', '', ...impact.map((l) => `- ${md(l)}`), '', '</details>');
  }
  const known = typeof deploy.external.comment === 'number' ? deploy.external.comment : undefined;
  const comment = await env.sticky.setSection(s.octokit, s.repo, identity.pr, `status:${identity.environment}`, lines.join('\n'), known);
  await recordPosted(env.client, deploy, { comment, commentPosted: deploy.state });
}
