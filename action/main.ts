// The Action's one entry point: mask the token before anything can print it, read the inputs, run
// the command against the runner, and turn any error into the step's one-line failure.
import * as core from '@actions/core';
import { RunnerClient } from '../runner/client/runner-client.ts';
import { cutoverCommand } from './cutover-command.ts';
import { failureMessage } from './failure.ts';
import { readGitHubContext, type GitHubContext } from './github-context.ts';
import { readInputs, type ActionInputs, type Command } from './inputs.ts';
import { planCommand } from './plan-command.ts';
import { statusCommand } from './status-command.ts';
import { submitCommand } from './submit-command.ts';

type CommandRun = (client: RunnerClient, inputs: ActionInputs, context: GitHubContext) => Promise<void>;

const COMMAND_RUNS: Record<Command, CommandRun> = {
  plan: planCommand,
  submit: submitCommand,
  cutover: cutoverCommand,
  status: statusCommand,
};

export async function run(): Promise<void> {
  try {
    const token = core.getInput('runner-token');
    if (token) core.setSecret(token);
    const inputs = readInputs();
    const client = new RunnerClient({ url: inputs.runnerUrl, token: inputs.runnerToken });
    await COMMAND_RUNS[inputs.command](client, inputs, readGitHubContext());
  } catch (err) {
    core.setFailed(failureMessage(err));
  }
}
