// The **Cut over** button of the `schemabot/cutover` check run: the same permission as `/cutover`
// (maintain or admin), then the runner's cut-over of the deploy the check run reports, found on the
// runners of the repository's configuration. A refusal, or a cut-over the runner did not do, is noted on
// the check run below what it says anyway.
import type { ProbotOctokit } from 'probot';
import { RunnerError } from '../runner/client/runner-client.ts';
import { loadConfig } from './config-loader.ts';
import { CUTOVER_WAITING } from './deploy-sync.ts';
import { runnerMessage } from './failure-output.ts';
import { deploysOfCommit } from './deploy-lookup.ts';
import { md } from './markdown.ts';
import { isAllowed } from './permissions.ts';
import type { RepoRef } from './repo-files.ts';
import type { RunnerRegistry } from './runner-registry.ts';
import type { Signer } from './signer.ts';

export interface ButtonPress {
  octokit: ProbotOctokit;
  repo: RepoRef;
  checkRun: { id: number; head_sha: string; external_id: string | null };
  login: string;
  defaultBranch: string;
  installation: number;
  registry: RunnerRegistry;
  signer: Signer;
}

/** Says on the check run why a press did nothing, below what the check run says anyway. */
async function note(press: ButtonPress, text: string): Promise<void> {
  await press.octokit.rest.checks.update({
    ...press.repo, check_run_id: press.checkRun.id, output: { title: 'Ready to cut over', summary: `${CUTOVER_WAITING}\n\n_${text}_` },
  });
}

/** What happened: `refused`, `released`, `failed` (the runner did not), or `unknown` (no deploy of this App's for that check run). */
export async function pressCutover(press: ButtonPress): Promise<'refused' | 'released' | 'failed' | 'unknown'> {
  const { octokit, repo, checkRun, login } = press;
  const { allowed, role } = await isAllowed(octokit, repo, login, 'maintain');
  if (!allowed) {
    await note(press, `${md(login)} (${md(role)}) may not cut over: maintain or admin permission is needed.`);
    return 'refused';
  }
  const config = await loadConfig(octokit, repo, press.defaultBranch);
  if (!config) return 'unknown';
  const scope = { ...press, config, repo: `${repo.owner}/${repo.repo}` };
  const found = (await deploysOfCommit(scope, checkRun.head_sha)).find((d) => d.deploy.id === checkRun.external_id);
  if (!found) return 'unknown';
  try {
    await found.client.command(found.deploy.id, 'cutover', login);
  } catch (err) {
    if (!(err instanceof RunnerError)) throw err;
    await note(press, `The cut-over asked by ${md(login)} was not done: ${md(runnerMessage(err))}. Try again.`);
    return 'failed';
  }
  return 'released';
}
