// The **Cut over** button of the `schemabot/cutover` check run: the same permission as `/cutover`
// (maintain or admin), then the runner's cut-over of the deploy the check run reports, found on the
// runners of the repository's configuration. A refusal is shown on the check run.
import type { ProbotOctokit } from 'probot';
import { loadConfig } from './config-loader.ts';
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

/** What happened: `refused`, `released`, or `unknown` (no deploy of this App's for that check run). */
export async function pressCutover(press: ButtonPress): Promise<'refused' | 'released' | 'unknown'> {
  const { octokit, repo, checkRun, login } = press;
  const { allowed, role } = await isAllowed(octokit, repo, login, 'maintain');
  if (!allowed) {
    await octokit.rest.checks.update({
      ...repo, check_run_id: checkRun.id, output: { title: 'Ready to cut over', summary: `${md(login)} (${md(role)}) may not cut over: maintain or admin permission is needed.` },
    });
    return 'refused';
  }
  const config = await loadConfig(octokit, repo, press.defaultBranch);
  if (!config) return 'unknown';
  const scope = { ...press, config, repo: `${repo.owner}/${repo.repo}` };
  const found = (await deploysOfCommit(scope, checkRun.head_sha)).find((d) => d.deploy.id === checkRun.external_id);
  if (!found) return 'unknown';
  await found.client.command(found.deploy.id, 'cutover', login);
  return 'released';
}
