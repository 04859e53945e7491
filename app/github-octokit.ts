// The Octokit class the App talks to GitHub with: Probot's (auth, pagination, retry, throttling) with
// secondary rate limits retried after `retry-after` (Probot's default only logs them), 5xx and 429
// retried by the retry plugin, and a pinned REST API version.
import type { Octokit } from '@octokit/core';
import { ProbotOctokit } from 'probot';

export interface GitHubTuning {
  /** Milliseconds per unit of `retry-after` and of the retry plugin's backoff; 1000 in production. */
  retryBaseMs?: number;
  /** Octokit's write pacing (1 s between writes, 3 s between comments); off only in tests. */
  throttle?: boolean;
}

const MAX_RATE_LIMIT_RETRIES = 3;

type Options = Record<string, any>;
type LimitOptions = { method: string; url: string };
type Log = { warn(message: string): void };

function pinApiVersion(octokit: InstanceType<typeof Octokit>) {
  octokit.hook.before('request', (options) => {
    options.headers['x-github-api-version'] ??= '2022-11-28';
  });
}

export function schemabotOctokit(tuning: GitHubTuning = {}): typeof ProbotOctokit {
  const baseMs = tuning.retryBaseMs ?? 1000;
  const retryLimited = (kind: string) => (retryAfter: number, options: LimitOptions, octokit: { log: Log }, retryCount: number) => {
    octokit.log.warn(`${kind} rate limit on ${options.method} ${options.url}: retry ${retryCount + 1} after ${retryAfter} s`);
    return retryCount < MAX_RATE_LIMIT_RETRIES;
  };
  return ProbotOctokit.plugin(pinApiVersion).defaults((options: Options) => ({
    ...options,
    retry: { ...options.retry, retryAfterBaseValue: baseMs },
    throttle: tuning.throttle === false
      ? { enabled: false }
      : { ...options.throttle, retryAfterBaseValue: baseMs, onSecondaryRateLimit: retryLimited('secondary'), onRateLimit: retryLimited('primary') },
  })) as typeof ProbotOctokit;
}
