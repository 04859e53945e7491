// What GitHub tells a job about where it runs: the repository, the commit, the workspace, and from
// the event payload (GITHUB_EVENT_PATH) the pull request with its base and merge commits.
import { existsSync, readFileSync } from 'node:fs';

export interface PullRequestInfo {
  number: number;
  /** The base branch's commit the pull request is compared with. */
  baseSha?: string;
}

export interface GitHubContext {
  /** `owner/name` */
  repository?: string;
  /** The commit whose deploy this job is about (see `commitOfEvent`). */
  sha?: string;
  workspace: string;
  eventName?: string;
  actor?: string;
  pullRequest?: PullRequestInfo;
}

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

interface EventPayload {
  pull_request?: { number?: unknown; merged?: unknown; merge_commit_sha?: unknown; base?: { sha?: unknown } };
  deployment?: { sha?: unknown };
}

function shaOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && SHA.test(value) ? value : undefined;
}

function readEvent(path: string | undefined): EventPayload {
  if (!path || !existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as EventPayload;
  } catch {
    return {};
  }
}

/**
 * The commit a deploy was made from. On `push` (and most events) GITHUB_SHA is that commit; on
 * `pull_request` it is a test merge GitHub made, so a merged pull request names its merge commit;
 * a `deployment` event names the commit it deploys.
 */
function commitOfEvent(event: EventPayload, githubSha: string | undefined): string | undefined {
  const pr = event.pull_request;
  return shaOrUndefined(event.deployment?.sha)
    ?? (pr?.merged === true ? shaOrUndefined(pr.merge_commit_sha) : undefined)
    ?? shaOrUndefined(githubSha);
}

export function readGitHubContext(env: NodeJS.ProcessEnv = process.env): GitHubContext {
  const event = readEvent(env.GITHUB_EVENT_PATH);
  const pr = event.pull_request;
  return {
    repository: env.GITHUB_REPOSITORY || undefined,
    sha: commitOfEvent(event, env.GITHUB_SHA),
    workspace: env.GITHUB_WORKSPACE || process.cwd(),
    eventName: env.GITHUB_EVENT_NAME || undefined,
    actor: env.GITHUB_ACTOR || undefined,
    pullRequest: pr && typeof pr.number === 'number'
      ? { number: pr.number, baseSha: shaOrUndefined(pr.base?.sha) }
      : undefined,
  };
}
