// The App as a custom deployment protection rule: a workflow job bound to a protected environment
// (e.g. one that runs the Action's `cutover` step) may start only once the schema deploy of its commit
// is ready to cut over. Until then the App posts status reports ("copying 43%, ETA 6 min") and keeps
// the pending callback in the deploy's metadata, where the reconciler answers it: approved when the
// deploy is ready (or past it), rejected when it failed, was aborted or reverted.
import type { Logger } from 'pino';
import type { ProbotOctokit } from 'probot';
import { RunnerError, type DeployView, type RunnerClient } from '../runner/client/runner-client.ts';
import { loadConfig } from './config-loader.ts';
import { deploysOfCommit, type FoundDeploy } from './deploy-lookup.ts';
import { statusLine } from './deploy-progress.ts';
import { submitDeploys } from './deploy-submitter.ts';
import { ConfigError } from './repo-config.ts';
import { pullMergedAs, type RepoRef } from './repo-files.ts';
import type { RunnerRegistry } from './runner-registry.ts';
import type { Signer } from './signer.ts';

export interface PendingGate {
  url: string;
  environment: string;
  reports: number;
  line: string;
  /** Passes in a row on which GitHub failed (5xx, network) to take the answer. */
  failures?: number;
}

export type Verdict = 'approved' | 'rejected' | 'wait';

/** GitHub keeps at most 10 status reports per deployment; the last one is left for the verdict. */
const MAX_REPORTS = 9;
const COMMENT_LIMIT = 1024;
/** A gate whose answer failed on this many passes in a row is given up (logged). */
const MAX_FAILED_PASSES = 5;

export function verdictOf(deploys: DeployView[]): Verdict {
  if (deploys.some((d) => ['failed', 'aborted', 'reverting', 'reverted'].includes(d.state))) return 'rejected';
  if (deploys.every((d) => ['ready-to-cutover', 'cutting-over', 'complete'].includes(d.state))) return 'approved';
  return 'wait';
}

function verdictComment(verdict: Verdict, deploys: DeployView[]): string {
  const lines = deploys.map((d) => `${d.id}: ${statusLine(d)}`);
  const head = verdict === 'approved' ? 'schemabot: the schema deploy is ready to cut over' : verdict === 'rejected'
    ? 'schemabot: the schema deploy cannot be cut over' : 'schemabot: waiting for the schema deploy';
  return [head, ...lines].join('\n').slice(0, COMMENT_LIMIT);
}

class NotAGateUrl extends Error {
  override name = 'NotAGateUrl';
}

/** Posts to the callback URL, which must be a protection rule's of repository `repo` (owner/name) on the API GitHub sent the event from. */
async function answerGate(octokit: ProbotOctokit, gate: Pick<PendingGate, 'url' | 'environment'>, verdict: Verdict, comment: string, repo: string): Promise<void> {
  const base = octokit.request.endpoint.DEFAULTS.baseUrl.replace(/\/+$/, '');
  if (!gate.url.startsWith(`${base}/repos/${repo}/actions/runs/`) || !/\/actions\/runs\/\d+\/deployment_protection_rule$/.test(gate.url)) {
    throw new NotAGateUrl('the deployment callback URL is not a protection-rule URL of this GitHub');
  }
  await octokit.request(`POST ${gate.url}`, {
    environment_name: gate.environment, comment, ...(verdict === 'wait' ? {} : { state: verdict }),
  });
}

/** Adds a gate to the deploy's pending ones (compare-and-set, so concurrent events keep each other's). */
export async function addPendingGate(client: RunnerClient, deploy: DeployView, gate: PendingGate): Promise<void> {
  let current = deploy;
  for (let attempt = 0; attempt < 5; attempt++) {
    const gates = (current.external.gates as PendingGate[] | undefined) ?? [];
    if (gates.some((g) => g.url === gate.url)) return;
    const result = await client.patchExternal(deploy.id, { set: { gates: [...gates, gate] }, expect: { gates: gates.length ? gates : null } });
    if (result.applied) return;
    current = result.deploy;
  }
  throw new Error(`could not record the pending protection rule on deploy ${deploy.id}`);
}

type Posted = 'posted' | 'failed' | 'refused';

/**
 * One answer or report for a pending gate: `refused` when GitHub will never take it (a 4xx: the run was
 * cancelled, re-run or already answered; or a URL that is not a protection rule's), `failed` when it may
 * on a later pass (5xx, network).
 */
async function postAnswer(octokit: ProbotOctokit, gate: PendingGate, verdict: Verdict, comment: string, repo: string, log: Logger): Promise<Posted> {
  try {
    await answerGate(octokit, gate, verdict, comment, repo);
    return 'posted';
  } catch (err) {
    const status = (err as { status?: number }).status;
    log.warn({ gate: gate.url, status, err: (err as Error).message }, 'protection rule: the answer was not taken');
    return err instanceof NotAGateUrl || (status !== undefined && status < 500) ? 'refused' : 'failed';
  }
}

/**
 * Answers or reports on the deploy's pending gates; true when none is left waiting. Each gate stands on
 * its own: one GitHub refuses is dropped, one that fails is kept for the next pass (at most
 * `MAX_FAILED_PASSES` in a row), and the others are answered and recorded either way.
 */
export async function answerPendingGates(client: RunnerClient, octokit: ProbotOctokit, deploy: DeployView, repo: string, log: Logger): Promise<boolean> {
  const gates = (deploy.external.gates as PendingGate[] | undefined) ?? [];
  if (gates.length === 0) return true;
  const verdict = verdictOf([deploy]);
  const line = statusLine(deploy);
  const remaining: PendingGate[] = [];
  for (const gate of gates) {
    const answer = verdict !== 'wait' ? verdict : gate.line !== line && gate.reports < MAX_REPORTS ? 'wait' : undefined;
    if (!answer) {
      remaining.push(gate);
      continue;
    }
    const posted = await postAnswer(octokit, gate, answer, verdictComment(answer, [deploy]), repo, log);
    const failures = (gate.failures ?? 0) + 1;
    if (posted === 'posted' && answer === 'wait') remaining.push({ ...gate, line, reports: gate.reports + 1, failures: 0 });
    else if (posted === 'failed' && failures < MAX_FAILED_PASSES) remaining.push({ ...gate, failures });
    else if (posted !== 'posted') log.warn({ deploy: deploy.id, gate: gate.url }, 'protection rule dropped: GitHub did not take its answer');
  }
  const result = await client.patchExternal(deploy.id, { set: { gates: remaining.length ? remaining : null }, expect: { gates } });
  if (result.applied) deploy.external = result.deploy.external;
  return remaining.length === 0;
}

export interface ProtectionRuleRequest {
  octokit: ProbotOctokit;
  repo: RepoRef;
  /** The commit the waiting workflow job deploys. */
  sha: string;
  gate: Pick<PendingGate, 'url' | 'environment'>;
  defaultBranch: string;
  installation: number;
  /** Whom a deploy submitted from here is made for: the event's sender. */
  actor: string;
  registry: RunnerRegistry;
  signer: Signer;
  log: Logger;
}

/**
 * On `deployment_protection_rule.requested`: answers now if the deploys of the commit allow it, else
 * keeps the rule pending on them. The rule can come before the merge webhook has submitted the deploy:
 * for the merge commit of a pull request the deploy is then submitted here (idempotent, the webhook finds
 * the same one), so the rule waits for it instead of being approved for "no schema deploy". A runner
 * that cannot be asked means no verdict can be given: rejected, to be re-run.
 */
export async function answerProtectionRule(request: ProtectionRuleRequest): Promise<Verdict> {
  const { octokit, repo, sha, gate, registry, signer, log } = request;
  const fullName = `${repo.owner}/${repo.repo}`;
  const answer = (verdict: Verdict, comment: string) => answerGate(octokit, gate, verdict, comment.slice(0, COMMENT_LIMIT), fullName);
  let deploys: FoundDeploy[];
  try {
    const config = await loadConfig(octokit, repo, request.defaultBranch);
    const scope = config && { registry, signer, config, repo: fullName, installation: request.installation };
    deploys = scope ? await deploysOfCommit(scope, sha) : [];
    if (scope && deploys.length === 0) {
      const pull = await pullMergedAs(octokit, repo, sha);
      const outcome = pull
        ? await submitDeploys(octokit, repo, { ...pull, sha, defaultBranch: request.defaultBranch, installation: request.installation, actor: request.actor }, registry, signer, log)
        : { targets: 0, submitted: 0 };
      if (outcome.submitted < outcome.targets) {
        await answer('rejected', 'schemabot: the schema deploy of this commit could not be submitted (see the schemabot/deploy check run); re-run this job once it is.');
        return 'rejected';
      }
      if (outcome.submitted) deploys = await deploysOfCommit(scope, sha);
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      await answer('rejected', `schemabot: .github/schemabot.yml: ${err.message}`);
      return 'rejected';
    }
    if (!(err instanceof RunnerError)) throw err;
    const why = err.status === 0 ? 'could not be reached' : `refused the request (${err.code})`;
    await answer('rejected', `schemabot: a schema runner ${why}, so whether this commit's schema deploy is ready is unknown; re-run this job once it is back.`);
    return 'rejected';
  }
  if (deploys.length === 0) {
    await answer('approved', 'schemabot: this commit has no schema deploy; nothing to wait for');
    return 'approved';
  }
  const views = deploys.map((d) => d.deploy);
  const verdict = verdictOf(views);
  await answer(verdict, verdictComment(verdict, views));
  if (verdict === 'wait') {
    const line = views.map(statusLine).join('; ');
    for (const { client, deploy } of deploys.filter((d) => verdictOf([d.deploy]) === 'wait')) {
      await addPendingGate(client, deploy, { ...gate, reports: 1, line });
    }
  }
  return verdict;
}
