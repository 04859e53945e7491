// A pull request merged into the configured branch becomes one deploy per environment whose schema
// directory it touched: the directory's files at the merge commit, submitted under a client key made
// of repository, pull request, merge commit and environment, so a redelivered webhook (or a re-run)
// finds the same deploy instead of starting a second. A submit that fails is reported as a failed
// `schemabot/deploy` check run; re-running that check submits again.
import type { Logger } from 'pino';
import type { ProbotOctokit } from 'probot';
import { checkName, environmentLabel } from './check-names.ts';
import { configForBranch } from './config-loader.ts';
import { signedIdentity, type DeployIdentity, type SyncMark } from './deploy-external.ts';
import { failureOutput } from './failure-output.ts';
import { withLintOverrides } from './lint-overrides.ts';
import { createCompletedCheckRun } from './plan-check-run.ts';
import { deployTargets } from './repo-config.ts';
import { changedPaths, readSchemaDir, touchesDir, type RepoRef } from './repo-files.ts';
import type { RunnerRegistry } from './runner-registry.ts';
import type { Signer } from './signer.ts';

export interface Merge {
  pr: number;
  sha: string;
  /** The branch merged into. */
  baseRef: string;
  defaultBranch: string;
  installation: number;
  actor: string;
}

/** `external_id` of a failed submit's check run: what a re-run needs to submit again. */
export const submitExternalId = (merge: Merge) => `submit:${merge.pr}:${merge.baseRef}`.slice(0, 200);

/** How many environments the merge deploys to, and how many of those deploys the runners took. */
export interface SubmitOutcome {
  targets: number;
  submitted: number;
}

export async function submitDeploys(octokit: ProbotOctokit, repo: RepoRef, merge: Merge, registry: RunnerRegistry, signer: Signer, log: Logger): Promise<SubmitOutcome> {
  const config = await configForBranch(octokit, repo, merge, { headSha: merge.sha, kind: 'deploy' });
  if (!config) return { targets: 0, submitted: 0 };
  const paths = await changedPaths(octokit, repo, merge.pr);
  const targets = deployTargets(config).filter((t) => touchesDir(paths, t.dir));
  let submitted = 0;
  for (const { dir, environment } of targets) {
    const label = environmentLabel(config, environment.name);
    const identity: DeployIdentity = {
      repo: `${repo.owner}/${repo.repo}`, pr: merge.pr, sha: merge.sha, installation: merge.installation, environment: environment.name, label,
    };
    try {
      const client = registry.clientFor(environment, merge.installation);
      const files = withLintOverrides(await readSchemaDir(octokit, repo, dir, merge.sha), config.lint);
      const deploy = await client.submit({
        target: environment.target, files, clientKey: `${identity.repo}#${merge.pr}@${merge.sha}/${environment.name}`,
        cutover: environment.cutover, external: { ...signedIdentity(identity, signer), github: 'open' satisfies SyncMark }, actor: merge.actor,
      });
      log.info({ deploy: deploy.id, pr: merge.pr, environment: environment.name }, 'deploy submitted');
      submitted++;
    } catch (err) {
      const output = failureOutput(err, 'deploy');
      await createCompletedCheckRun(octokit, repo, {
        name: checkName('deploy', label), headSha: merge.sha, conclusion: 'failure', externalId: submitExternalId(merge),
        output: { title: output.title, summary: output.summary },
      });
    }
  }
  return { targets: targets.length, submitted };
}
