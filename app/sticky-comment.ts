// The one pull-request comment the App owns: found by its hidden marker (listing the comments, never by
// memory), edited in place, never duplicated. It holds named sections — the plan, and one status line
// per deploy — so each writer replaces its own section and keeps the others.
import type { ProbotOctokit } from 'probot';
import { fitWithin } from './markdown.ts';
import type { RepoRef } from './repo-files.ts';

export const STICKY_MARKER = '<!-- schemabot:plan -->';
const COMMENT_LIMIT = 65_536;

const begin = (key: string) => `<!-- schemabot:section ${key} -->`;
const end = (key: string) => `<!-- schemabot:end ${key} -->`;

/** The body with section `key` set to `content` (added after the others when new). */
export function withSection(body: string, key: string, content: string): string {
  const block = `${begin(key)}\n${content}\n${end(key)}`;
  const from = body.indexOf(begin(key));
  const to = body.indexOf(end(key));
  const base = body.startsWith(STICKY_MARKER) ? body : STICKY_MARKER;
  if (from >= 0 && to > from) return base.slice(0, from) + block + base.slice(to + end(key).length);
  return `${base}\n${block}`;
}

export async function findStickyComment(octokit: ProbotOctokit, repo: RepoRef, issueNumber: number): Promise<{ id: number; body: string } | undefined> {
  for await (const { data } of octokit.paginate.iterator(octokit.rest.issues.listComments, { ...repo, issue_number: issueNumber, per_page: 100 })) {
    const mine = data.find((c) => c.user?.type === 'Bot' && (c.body ?? '').startsWith(STICKY_MARKER));
    if (mine) return { id: mine.id, body: mine.body ?? '' };
  }
  return undefined;
}

/**
 * Sets one section of the sticky comment, creating the comment if the pull request has none. `knownId`
 * (kept in a deploy's metadata) saves the listing; a comment deleted since is found or made again.
 */
export async function setStickySection(octokit: ProbotOctokit, repo: RepoRef, issueNumber: number, key: string, content: string,
  knownId?: number): Promise<number> {
  let current: { id: number; body: string } | undefined;
  if (knownId) {
    current = await octokit.rest.issues.getComment({ ...repo, comment_id: knownId })
      .then(({ data }) => ({ id: data.id, body: data.body ?? '' }), (err: { status?: number }) => {
        if (err.status === 404) return undefined;
        throw err;
      });
  }
  current ??= await findStickyComment(octokit, repo, issueNumber);
  const body = fitWithin(withSection(current?.body ?? STICKY_MARKER, key, content), COMMENT_LIMIT, '… cut: the comment reached GitHub\'s size limit.');
  if (current) {
    if (current.body !== body) await octokit.rest.issues.updateComment({ ...repo, comment_id: current.id, body });
    return current.id;
  }
  const { data } = await octokit.rest.issues.createComment({ ...repo, issue_number: issueNumber, body });
  return data.id;
}
