// `command: cutover`, in a job gated by a GitHub environment whose reviewers are the release
// managers: the job only runs once they approved, so this is the go. It finds the deploy, waits for
// it to be ready (progress in the log), releases the cut-over, and waits for `complete`. A deploy
// that fails, is aborted or reverted, or is not done within `timeout-minutes`, fails the job, and
// with it the deployment. Timing out stops this job only: the deploy carries on in the runner.
import * as core from '@actions/core';
import type { DeployView, RunnerClient } from '../runner/client/runner-client.ts';
import { RunnerError } from '../runner/client/runner-client.ts';
import { actorOf } from './actor.ts';
import { Deadline } from './deadline.ts';
import { ActionFailure } from './failure.ts';
import { commitOf, describeCommit, findDeploy } from './find-deploy.ts';
import type { GitHubContext } from './github-context.ts';
import type { ActionInputs } from './inputs.ts';
import { oneLine } from './log-text.ts';
import { describeDeploy } from './progress-line.ts';
import { ProgressLog } from './progress-log.ts';
import { RunnerOutage } from './runner-outage.ts';

async function awaitDeploy(client: RunnerClient, inputs: ActionInputs, context: GitHubContext, deadline: Deadline, outage: RunnerOutage): Promise<DeployView> {
  for (let announced = false; ;) {
    const found = await outage.attempt(() => findDeploy(client, inputs, context));
    if (found.ok && found.value) return found.value;
    const commit = describeCommit(commitOf(context));
    if (deadline.passed) throw new ActionFailure(`timed out after ${deadline}: no deploy of ${commit} was found on the runner${outage.note}`);
    if (found.ok && !announced) core.info(`No deploy of ${commit} yet: waiting for it to be submitted`);
    announced ||= found.ok;
    await deadline.pause();
  }
}

function failure(deploy: DeployView): ActionFailure | undefined {
  switch (deploy.state) {
    case 'failed':
      return new ActionFailure(`deploy ${deploy.id} failed: ${oneLine(deploy.error ?? 'no reason recorded', 1000)}`);
    case 'aborted':
      return new ActionFailure(`deploy ${deploy.id} was aborted${deploy.error ? `: ${oneLine(deploy.error, 1000)}` : ''}`);
    case 'reverting':
    case 'reverted':
      return new ActionFailure(`deploy ${deploy.id} is ${deploy.state}: it was cut over, then a revert was requested`);
    default:
      return undefined;
  }
}

/** Releases a ready deploy's cut-over; a 409 means it moved on meanwhile, which the next poll shows. */
async function release(client: RunnerClient, deploy: DeployView, actor: string, outage: RunnerOutage): Promise<void> {
  try {
    const released = await outage.attempt(() => client.command(deploy.id, 'cutover', actor));
    if (released.ok) core.info(`Cut-over of ${deploy.id} released by ${actor}`);
  } catch (err) {
    if (!(err instanceof RunnerError && err.status === 409)) throw err;
  }
}

export async function cutoverCommand(client: RunnerClient, inputs: ActionInputs, context: GitHubContext): Promise<void> {
  const deadline = new Deadline(inputs.timeoutMinutes);
  const outage = new RunnerOutage();
  let deploy = await awaitDeploy(client, inputs, context, deadline, outage);
  core.setOutput('deploy-id', deploy.id);
  const progress = new ProgressLog();
  const actor = actorOf(context);
  try {
    for (;;) {
      progress.report(deploy);
      const failed = failure(deploy);
      if (failed) throw failed;
      if (deploy.state === 'complete') break;
      if (deploy.state === 'ready-to-cutover' && !deploy.cutoverRequestedBy) await release(client, deploy, actor, outage);
      if (deadline.passed) {
        const waiting = deploy.cutoverRequestedBy ? 'its cut-over was released and goes on in the runner' : 'the deploy goes on in the runner';
        throw new ActionFailure(`timed out after ${deadline} (timeout-minutes): ${describeDeploy(deploy)}; ${waiting}${outage.note}`);
      }
      await deadline.pause();
      const polled = await outage.attempt(() => client.get(deploy.id));
      if (polled.ok) deploy = polled.value;
    }
  } finally {
    core.setOutput('state', deploy.state);
  }
  core.info(`Deploy ${deploy.id} is complete`);
}
