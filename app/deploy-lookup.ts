// Finding the deploys a GitHub event is about, through the runners' `external` filters, on the runners
// the repository's configuration names (and its installation may use) only: those of a pull request
// (the latest per environment), and those of a commit (how protection rules and check-run buttons find
// theirs, and the same query the Action makes). Deploys whose identity the App did not sign are not ours.
import type { DeployView, RunnerClient } from '../runner/client/runner-client.ts';
import { identityOf } from './deploy-external.ts';
import { deployTargets, type EnvironmentConfig, type RepoConfig } from './repo-config.ts';
import type { RunnerRegistry } from './runner-registry.ts';
import type { Signer } from './signer.ts';

export interface FoundDeploy {
  client: RunnerClient;
  deploy: DeployView;
  environment: EnvironmentConfig;
}

export interface LookupScope {
  registry: RunnerRegistry;
  signer: Signer;
  config: RepoConfig;
  /** owner/name */
  repo: string;
  installation: number;
}

async function find(scope: LookupScope, external: Record<string, string>, limit: number): Promise<FoundDeploy[]> {
  const found: FoundDeploy[] = [];
  for (const { environment } of deployTargets(scope.config)) {
    const client = scope.registry.clientFor(environment, scope.installation);
    const deploys = await client.list({ target: environment.target, external: { ...external, repo: scope.repo, environment: environment.name }, limit });
    for (const deploy of deploys) {
      if (identityOf(deploy, scope.signer)?.installation === scope.installation) found.push({ client, deploy, environment });
    }
  }
  return found;
}

/** Newest first per environment: the latest merge of this pull request into each. */
export async function deploysOfPull(scope: LookupScope, pr: number): Promise<FoundDeploy[]> {
  return (await find(scope, { pr: String(pr) }, 1));
}

export function deploysOfCommit(scope: LookupScope, sha: string): Promise<FoundDeploy[]> {
  return find(scope, { sha }, 20);
}
