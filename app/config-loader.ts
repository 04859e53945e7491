// Where the App reads `.github/schemabot.yml`: always the default branch's tip. A pull request's own
// edit of the file (at its head, or at a merge commit) never counts, nor does the copy on any other
// branch: otherwise a writer could name their own branch as the deploy branch, merge into it and deploy
// without the default branch's protection. Pull requests into any branch but the configured one are not
// the App's business, so nothing else is read for them.
import type { ProbotOctokit } from 'probot';
import { checkName } from './check-names.ts';
import { failureOutput } from './failure-output.ts';
import { createCompletedCheckRun } from './plan-check-run.ts';
import { ConfigError, parseRepoConfig, type RepoConfig } from './repo-config.ts';
import { readConfigText, type RepoRef } from './repo-files.ts';

export interface BranchRef {
  /** The branch pulled or merged into. */
  baseRef: string;
  defaultBranch: string;
}

/** Where a broken configuration is reported: a failed `kind` check run on `headSha` (without it: thrown). */
export interface ConfigReport {
  headSha: string;
  kind: 'plan' | 'deploy';
}

/** The configuration on the default branch's tip, or undefined when the repository has none. */
export async function loadConfig(octokit: ProbotOctokit, repo: RepoRef, defaultBranch: string, report?: ConfigReport): Promise<RepoConfig | undefined> {
  const text = await readConfigText(octokit, repo, defaultBranch);
  if (text === undefined) return undefined;
  try {
    return parseRepoConfig(text);
  } catch (err) {
    if (!(err instanceof ConfigError) || !report) throw err;
    await createCompletedCheckRun(octokit, repo, {
      name: checkName(report.kind, ''), headSha: report.headSha, conclusion: 'failure', output: failureOutput(err, report.kind),
    });
    return undefined;
  }
}

/** The configuration, when `baseRef` is the branch it deploys from (`branch`, else the default branch). */
export async function configForBranch(octokit: ProbotOctokit, repo: RepoRef, ref: BranchRef, report?: ConfigReport): Promise<RepoConfig | undefined> {
  const config = await loadConfig(octokit, repo, ref.defaultBranch, report);
  return config && (config.branch ?? ref.defaultBranch) === ref.baseRef ? config : undefined;
}
