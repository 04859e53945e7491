// "The deploy of this commit": the `deploy` input when the workflow names one, otherwise the newest
// deploy whose `external` metadata says it was made from this commit of this repository
// (`external.repo` = GITHUB_REPOSITORY, `external.sha` = the merge commit), the contract the App
// and the `submit` command both keep (docs/action.md); failing that, one made from this pull request.
import type { DeployView, RunnerClient } from '../runner/client/runner-client.ts';
import { RunnerError } from '../runner/client/runner-client.ts';
import { ActionFailure } from './failure.ts';
import type { GitHubContext } from './github-context.ts';
import type { ActionInputs } from './inputs.ts';

export interface Commit {
  repository: string;
  sha: string;
}

export function commitOf(context: GitHubContext): Commit {
  if (!context.repository || !context.sha) {
    throw new ActionFailure('GITHUB_REPOSITORY and GITHUB_SHA are needed to find the deploy of this commit: outside GitHub Actions, give the "deploy" input');
  }
  return { repository: context.repository, sha: context.sha };
}

export function describeCommit(commit: Commit): string {
  return `commit ${commit.sha.slice(0, 12)} of ${commit.repository}`;
}

export async function findDeployOfCommit(client: RunnerClient, commit: Commit, target: string | undefined, prNumber?: number): Promise<DeployView | undefined> {
  const [bySha] = await client.list({ target, external: { repo: commit.repository, sha: commit.sha }, limit: 1 });
  if (bySha || prNumber === undefined) return bySha;
  const [byPr] = await client.list({ target, external: { repo: commit.repository, pr: String(prNumber) }, limit: 1 });
  return byPr;
}

/** The named deploy (which must exist), or the deploy of this commit if there is one yet. */
export async function findDeploy(client: RunnerClient, inputs: ActionInputs, context: GitHubContext): Promise<DeployView | undefined> {
  if (inputs.deploy) {
    try {
      return await client.get(inputs.deploy);
    } catch (err) {
      if (err instanceof RunnerError && (err.status === 404 || err.status === 400)) {
        throw new ActionFailure(`no deploy "${inputs.deploy.slice(0, 80)}" on the runner at ${client.origin} (check the "deploy" input)`);
      }
      throw err;
    }
  }
  return findDeployOfCommit(client, commitOf(context), inputs.environment, context.pullRequest?.number);
}
