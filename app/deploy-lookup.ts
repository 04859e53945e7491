// Finding the deploys a GitHub event is about, through the runners' `external` filters: those of a
// pull request (the latest per environment of the repository's configuration), and those of a commit
// (on any runner this App knows: how protection rules and check-run buttons find theirs, and the same
// query the Action makes).
import type { DeployView, RunnerClient } from '../runner/client/runner-client.ts';
import { deployTargets, type EnvironmentConfig, type RepoConfig } from './repo-config.ts';
import type { RunnerRegistry } from './runner-registry.ts';

export interface FoundDeploy {
  client: RunnerClient;
  deploy: DeployView;
  environment?: EnvironmentConfig;
}

export async function deploysOfPull(registry: RunnerRegistry, config: RepoConfig, repo: string, pr: number): Promise<FoundDeploy[]> {
  const found: FoundDeploy[] = [];
  for (const { environment } of deployTargets(config)) {
    const client = registry.clientFor(environment);
    // Newest first: the latest merge of this pull request into this environment.
    const [deploy] = await client.list({ target: environment.target, external: { repo, pr: String(pr), environment: environment.name }, limit: 1 });
    if (deploy) found.push({ client, deploy, environment });
  }
  return found;
}

export async function deploysOfCommit(registry: RunnerRegistry, repo: string, sha: string): Promise<FoundDeploy[]> {
  const found: FoundDeploy[] = [];
  for (const client of registry.all()) {
    for (const deploy of await client.list({ external: { repo, sha }, limit: 20 })) found.push({ client, deploy });
  }
  return found;
}
