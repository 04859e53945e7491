// `command: submit`, for repositories without the GitHub App (on push to the deploy branch): plans
// the merged schema files and submits them as a gated deploy of this commit, tagged with the same
// `external` keys the App uses, so the `cutover` job finds it. A commit that already has a deploy
// (the App was faster, or the job is re-run) is left as it is; one with nothing to change submits nothing.
import * as core from '@actions/core';
import type { RunnerClient } from '../runner/client/runner-client.ts';
import { actorOf } from './actor.ts';
import { commitOf, describeCommit, findDeployOfCommit, type Commit } from './find-deploy.ts';
import type { GitHubContext } from './github-context.ts';
import type { ActionInputs } from './inputs.ts';
import { planWorkspace } from './plan-command.ts';
import { resolveTarget } from './runner-target.ts';

const MAX_CLIENT_KEY = 200;

/** One deploy per commit and target, however often the job runs. */
function clientKey(commit: Commit, target: string): string {
  return `github-action:${commit.sha}/${target}/${commit.repository}`.slice(0, MAX_CLIENT_KEY);
}

export async function submitCommand(client: RunnerClient, inputs: ActionInputs, context: GitHubContext): Promise<void> {
  const target = await resolveTarget(client, inputs.environment);
  const commit = commitOf(context);
  const existing = await findDeployOfCommit(client, commit, target);
  if (existing) {
    core.info(`${describeCommit(commit)} already has deploy ${existing.id} (${existing.state}): nothing submitted`);
    core.setOutput('deploy-id', existing.id);
    core.setOutput('state', existing.state);
    return;
  }
  const { files, result } = await planWorkspace(client, inputs, context, target);
  if (result.plan.changes.length === 0) {
    core.info(`Nothing to deploy: target ${target} already matches ${inputs.schemaDir}`);
    core.setOutput('state', 'none');
    return;
  }
  const deploy = await client.submit({
    target, files, clientKey: clientKey(commit, target), cutover: 'gated',
    external: { repo: commit.repository, sha: commit.sha, ...(context.pullRequest ? { pr: context.pullRequest.number } : {}) },
    actor: actorOf(context),
  });
  core.info(`Submitted deploy ${deploy.id} of ${describeCommit(commit)}: it copies now and waits for the cut-over`);
  core.setOutput('deploy-id', deploy.id);
  core.setOutput('state', deploy.state);
}
