// The App as a custom deployment protection rule: a workflow job bound to a protected environment
// (e.g. one that runs the Action's `cutover` step) may start only once the schema deploy of its commit
// is ready to cut over. Until then the App posts status reports ("copying 43%, ETA 6 min") and keeps
// the pending callback in the deploy's metadata, where the reconciler answers it: approved when the
// deploy is ready (or past it), rejected when it failed, was aborted or reverted.
import type { ProbotOctokit } from 'probot';
import type { DeployView, RunnerClient } from '../runner/client/runner-client.ts';
import { statusLine } from './deploy-progress.ts';

export interface PendingGate {
  url: string;
  environment: string;
  reports: number;
  line: string;
}

export type Verdict = 'approved' | 'rejected' | 'wait';

/** GitHub keeps at most 10 status reports per deployment; the last one is left for the verdict. */
const MAX_REPORTS = 9;
const COMMENT_LIMIT = 1024;

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

/** Posts to the callback URL, which must be this repository's on the API GitHub sent the event from. */
export async function answerGate(octokit: ProbotOctokit, gate: Pick<PendingGate, 'url' | 'environment'>, verdict: Verdict, comment: string): Promise<void> {
  const base = octokit.request.endpoint.DEFAULTS.baseUrl.replace(/\/+$/, '');
  if (!gate.url.startsWith(`${base}/repos/`) || !/\/actions\/runs\/\d+\/deployment_protection_rule$/.test(gate.url)) {
    throw new Error('the deployment callback URL is not a protection-rule URL of this GitHub');
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

/** Answers or reports on the deploy's pending gates; true when none is left waiting. */
export async function answerPendingGates(client: RunnerClient, octokit: ProbotOctokit, deploy: DeployView): Promise<boolean> {
  const gates = (deploy.external.gates as PendingGate[] | undefined) ?? [];
  if (gates.length === 0) return true;
  const verdict = verdictOf([deploy]);
  const line = statusLine(deploy);
  const remaining: PendingGate[] = [];
  for (const gate of gates) {
    if (verdict !== 'wait') {
      await answerGate(octokit, gate, verdict, verdictComment(verdict, [deploy]));
      continue;
    }
    if (gate.line !== line && gate.reports < MAX_REPORTS) {
      await answerGate(octokit, gate, 'wait', verdictComment('wait', [deploy]));
      remaining.push({ ...gate, line, reports: gate.reports + 1 });
    } else {
      remaining.push(gate);
    }
  }
  const result = await client.patchExternal(deploy.id, { set: { gates: remaining.length ? remaining : null }, expect: { gates } });
  if (result.applied) deploy.external = result.deploy.external;
  return remaining.length === 0;
}

/** On `deployment_protection_rule.requested`: answer now if the deploys of the commit allow it, else keep it pending. */
export async function handleProtectionRule(octokit: ProbotOctokit, deploys: { client: RunnerClient; deploy: DeployView }[],
  gate: { url: string; environment: string }): Promise<Verdict> {
  if (deploys.length === 0) {
    await answerGate(octokit, gate, 'approved', 'schemabot: this commit has no schema deploy; nothing to wait for');
    return 'approved';
  }
  const views = deploys.map((d) => d.deploy);
  const verdict = verdictOf(views);
  await answerGate(octokit, gate, verdict, verdictComment(verdict, views));
  if (verdict === 'wait') {
    const line = views.map(statusLine).join('; ');
    for (const { client, deploy } of deploys.filter((d) => verdictOf([d.deploy]) === 'wait')) {
      await addPendingGate(client, deploy, { ...gate, reports: 1, line });
    }
  }
  return verdict;
}
