// The webhook payloads the local GitHub's users cause, shaped as GitHub sends them (the fields the App
// reads, and the ones Probot needs): a pull request opened, pushed or merged, a comment, a check run's
// button pressed, a deployment waiting on a protection rule.
import type { CheckRun, LocalGitHub } from './local-github.ts';

function repository(github: LocalGitHub) {
  return {
    id: 1, name: github.name, full_name: `${github.owner}/${github.name}`,
    owner: { login: github.owner, type: 'Organization' }, default_branch: 'main',
  };
}

const user = (login: string, type = 'User') => ({ login, type });

export function pullRequestEvent(action: string, github: LocalGitHub, number: number, extra: { merged?: boolean; mergedBy?: string } = {}): object {
  const pull = github.pulls.get(number)!;
  return {
    action, number, repository: repository(github), installation: { id: github.installation }, sender: user('dev'),
    pull_request: {
      number, state: action === 'closed' ? 'closed' : 'open', merged: extra.merged ?? false, merge_commit_sha: pull.merged ?? null,
      merged_by: extra.mergedBy ? user(extra.mergedBy) : null,
      head: { sha: pull.head, ref: `feature-${number}` }, base: { sha: pull.base, ref: pull.baseRef },
    },
  };
}

/** A merge of pull request `number` by `mergedBy`: the merge commit on its base branch, and the `closed` event. */
export function mergePull(github: LocalGitHub, number: number, mergedBy = 'maintainer'): { sha: string; event: object } {
  const sha = github.merge(number);
  return { sha, event: pullRequestEvent('closed', github, number, { merged: true, mergedBy }) };
}

/** `login` comments `body` on pull request `number`: the comment, and its `created` event. */
export function commentEvent(github: LocalGitHub, number: number, body: string, login: string, type = 'User'): { payload: object; commentId: number } {
  const comment = github.addComment(number, body, login);
  comment.user.type = type;
  return {
    commentId: comment.id,
    payload: {
      action: 'created', repository: repository(github), installation: { id: github.installation }, sender: user(login, type),
      issue: { number, pull_request: { url: `${github.url}/repos/${github.owner}/${github.name}/pulls/${number}` } },
      comment: { id: comment.id, body, user: user(login, type) },
    },
  };
}

/** `login` presses the button `identifier` of a check run. */
export function requestedActionEvent(github: LocalGitHub, checkRun: Pick<CheckRun, 'id' | 'head_sha' | 'name' | 'external_id'>, login: string,
  identifier = 'cutover'): object {
  return {
    action: 'requested_action', repository: repository(github), installation: { id: github.installation }, sender: user(login),
    check_run: { id: checkRun.id, head_sha: checkRun.head_sha, name: checkRun.name, external_id: checkRun.external_id ?? null },
    requested_action: { identifier },
  };
}

/** A workflow run `runId` deploying `sha` to a protected environment whose custom rule is the App. */
export function protectionRuleEvent(github: LocalGitHub, sha: string, runId: number, environment = 'production-schema'): object {
  return {
    action: 'requested', repository: repository(github), installation: { id: github.installation }, environment, event: 'push',
    deployment_callback_url: `${github.url}/repos/${github.owner}/${github.name}/actions/runs/${runId}/deployment_protection_rule`,
    deployment: { id: 9000 + runId, sha, ref: 'main', environment },
  };
}
