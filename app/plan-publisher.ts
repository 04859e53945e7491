// A pull request that touches a configured schema directory gets, per environment, a plan from that
// environment's runner (head files against base files), published as the `schemabot/plan` check run
// on the head commit and as the plan section of the one sticky comment. Nothing else is posted for a
// pull request that touches no schema file, or in a repository without a configuration.
import type { Logger } from 'pino';
import type { ProbotOctokit } from 'probot';
import { checkName, environmentLabel } from './check-names.ts';
import { configForBranch } from './config-loader.ts';
import { failureOutput } from './failure-output.ts';
import { withLintOverrides } from './lint-overrides.ts';
import { embedRunnerMarkdown, fitWithin, md } from './markdown.ts';
import { createCompletedCheckRun, planAnnotations, planConclusion, planOutput, planTitle } from './plan-check-run.ts';
import { deployTargets } from './repo-config.ts';
import { changedPaths, readSchemaDir, touchesDir, type RepoRef } from './repo-files.ts';
import type { RunnerRegistry } from './runner-registry.ts';
import type { StickyComments } from './sticky-comment.ts';

export interface PullRequestRef {
  number: number;
  headSha: string;
  baseSha: string;
  baseRef: string;
  defaultBranch: string;
  installation: number;
}

/** `external_id` of plan check runs: a re-run plans that pull request again. */
export const planExternalId = (pr: number) => `plan:${pr}`;

/** The plan section leaves room in the comment for the deploys' status lines. */
const PLAN_SECTION_LIMIT = 60_000;

export async function publishPlans(octokit: ProbotOctokit, repo: RepoRef, pr: PullRequestRef, registry: RunnerRegistry, sticky: StickyComments, log: Logger): Promise<void> {
  const config = await configForBranch(octokit, repo, pr, { headSha: pr.headSha, kind: 'plan' });
  if (!config) return;
  const paths = await changedPaths(octokit, repo, pr.number);
  const targets = deployTargets(config).filter((t) => touchesDir(paths, t.dir));
  if (targets.length === 0) {
    log.info({ pr: pr.number }, 'no schema file changed: nothing to plan');
    return;
  }
  const sections: string[] = [];
  for (const { dir, environment } of targets) {
    const label = environmentLabel(config, environment.name);
    const heading = `## schemabot plan: ${md(dir)} → ${md(environment.name)}`;
    try {
      const client = registry.clientFor(environment, pr.installation);
      const files = withLintOverrides(await readSchemaDir(octokit, repo, dir, pr.headSha), config.lint);
      const baseFiles = withLintOverrides(await readSchemaDir(octokit, repo, dir, pr.baseSha), config.lint);
      const { plan, markdown } = await client.plan({ target: environment.target, files, baseFiles: Object.keys(baseFiles).length ? baseFiles : undefined });
      await createCompletedCheckRun(octokit, repo, {
        name: checkName('plan', label), headSha: pr.headSha, conclusion: planConclusion(plan, config.warnings), externalId: planExternalId(pr.number),
        output: { title: planTitle(plan), ...planOutput(markdown), annotations: planAnnotations(plan, dir) },
      });
      sections.push(`${heading}\n\n${embedRunnerMarkdown(markdown)}`);
    } catch (err) {
      const output = failureOutput(err, 'plan');
      await createCompletedCheckRun(octokit, repo, { name: checkName('plan', label), headSha: pr.headSha, conclusion: 'failure', externalId: planExternalId(pr.number), output });
      sections.push(`${heading}\n\n❌ **${md(output.title)}**\n\n${output.summary}`);
    }
  }
  const body = fitWithin(sections.join('\n\n'), PLAN_SECTION_LIMIT, '… cut: the full plans are in the `schemabot/plan` check runs.');
  await sticky.setSection(octokit, repo, pr.number, 'plan', `${body}\n\n<sub>Planned at ${pr.headSha.slice(0, 12)}.</sub>`);
}
