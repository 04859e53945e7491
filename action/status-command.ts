// `command: status`: where the deploy of this commit (or the named one) stands, in the log and in
// the `deploy-id` and `state` outputs (`none` when this commit has no deploy).
import * as core from '@actions/core';
import type { DeployView, RunnerClient } from '../runner/client/runner-client.ts';
import { commitOf, describeCommit, findDeploy } from './find-deploy.ts';
import type { GitHubContext } from './github-context.ts';
import type { ActionInputs } from './inputs.ts';
import { oneLine } from './log-text.ts';
import { describeDeploy } from './progress-line.ts';

function cutoverLine(deploy: DeployView): string {
  if (deploy.cutoverRequestedBy) return `cut-over released by ${oneLine(deploy.cutoverRequestedBy, 120)}`;
  const after = deploy.cutoverAfter ? ` not before ${deploy.cutoverAfter}` : '';
  return deploy.cutover === 'gated' ? `cut-over gated: waits for a release${after}` : `cut-over automatic${after}`;
}

export async function statusCommand(client: RunnerClient, inputs: ActionInputs, context: GitHubContext): Promise<void> {
  const deploy = await findDeploy(client, inputs, context);
  if (!deploy) {
    core.info(`No deploy of ${describeCommit(commitOf(context))} on the runner at ${client.origin}`);
    core.setOutput('state', 'none');
    return;
  }
  core.setOutput('deploy-id', deploy.id);
  core.setOutput('state', deploy.state);
  core.info(describeDeploy(deploy));
  core.info(cutoverLine(deploy));
  core.info(`submitted by ${oneLine(deploy.submittedBy, 120)} at ${deploy.createdAt}; last change ${deploy.updatedAt}`);
  if (deploy.error) core.info(`error: ${oneLine(deploy.error, 1000)}`);
}
