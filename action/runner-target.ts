// Which of the runner's targets (databases) a step works on: the "environment" input, or the
// runner's only target when it has one.
import type { RunnerClient } from '../runner/client/runner-client.ts';
import { ActionFailure } from './failure.ts';

export async function resolveTarget(client: RunnerClient, environment: string | undefined): Promise<string> {
  if (environment) return environment;
  const targets = await client.targets();
  if (targets.length === 1) return targets[0];
  throw new ActionFailure(`the runner at ${client.origin} has ${targets.length} targets (${targets.join(', ')}): name one with the "environment" input`);
}
