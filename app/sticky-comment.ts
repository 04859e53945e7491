// The one pull-request comment the App owns: found by listing the comments (never by memory), edited in
// place, never duplicated. It holds named sections — the plan, and one status line per deploy — so each
// writer replaces its own section and keeps the others.
//
// Only the App's own comment counts. Its first line carries a signature of the comment's id under a key
// derived from the webhook secret: no one else can make one, so a comment by anyone else (another bot
// too) that copies the marker, or copies a signature onto another comment, is never adopted or edited.
// Writers of one process take turns per pull request; when two App instances both create the comment,
// the creator of the newer one deletes it and writes its section into the older.
import type { ProbotOctokit } from 'probot';
import { fitWithin } from './markdown.ts';
import type { RepoRef } from './repo-files.ts';
import { Signer } from './signer.ts';

export const STICKY_MARKER = '<!-- schemabot:plan -->';
/** GitHub takes 65,536 characters; the signature that replaces the marker needs a few more. */
const BODY_LIMIT = 65_400;

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

interface Comment {
  id: number;
  body: string;
}

const isGone = (err: unknown) => (err as { status?: number }).status === 404;

export class StickyComments {
  private readonly signer: Signer;
  private readonly turns = new Map<string, Promise<unknown>>();

  constructor(secret: string) {
    this.signer = new Signer(secret, 'sticky comment');
  }

  /**
   * Sets one section of the pull request's sticky comment, creating the comment if it has none;
   * returns the comment's id. `knownId` (kept in a deploy's metadata) saves the listing when it is
   * still the App's comment.
   */
  setSection(octokit: ProbotOctokit, repo: RepoRef, issue: number, key: string, content: string, knownId?: number): Promise<number> {
    const pull = `${repo.owner}/${repo.repo}#${issue}`;
    const turn = (this.turns.get(pull) ?? Promise.resolve()).then(() => this.write(octokit, repo, issue, key, content, knownId));
    const settled = turn.then(() => undefined, () => undefined);
    this.turns.set(pull, settled);
    void settled.then(() => {
      if (this.turns.get(pull) === settled) this.turns.delete(pull);
    });
    return turn;
  }

  private header(repo: RepoRef, issue: number, id: number): string {
    return `${STICKY_MARKER}<!-- schemabot:signed ${this.signer.sign(`${repo.owner}/${repo.repo}#${issue}/${id}`)} -->`;
  }

  private isOurs(repo: RepoRef, issue: number, comment: Comment): boolean {
    return comment.body.startsWith(this.header(repo, issue, comment.id));
  }

  /** The App's comments on the pull request, oldest first. */
  private async ours(octokit: ProbotOctokit, repo: RepoRef, issue: number): Promise<Comment[]> {
    const found: Comment[] = [];
    for await (const { data } of octokit.paginate.iterator(octokit.rest.issues.listComments, { ...repo, issue_number: issue, per_page: 100 })) {
      found.push(...data.map((c) => ({ id: c.id, body: c.body ?? '' })).filter((c) => this.isOurs(repo, issue, c)));
    }
    return found.sort((a, b) => a.id - b.id);
  }

  private async known(octokit: ProbotOctokit, repo: RepoRef, issue: number, id: number): Promise<Comment | undefined> {
    try {
      const { data } = await octokit.rest.issues.getComment({ ...repo, comment_id: id });
      const comment = { id: data.id, body: data.body ?? '' };
      return this.isOurs(repo, issue, comment) ? comment : undefined;
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
  }

  private async update(octokit: ProbotOctokit, repo: RepoRef, comment: Comment, key: string, content: string): Promise<number> {
    const body = bodyWith(comment.body, key, content);
    if (body !== comment.body) await octokit.rest.issues.updateComment({ ...repo, comment_id: comment.id, body });
    return comment.id;
  }

  private async write(octokit: ProbotOctokit, repo: RepoRef, issue: number, key: string, content: string, knownId?: number): Promise<number> {
    const current = (knownId ? await this.known(octokit, repo, issue, knownId) : undefined) ?? (await this.ours(octokit, repo, issue))[0];
    if (current) return this.update(octokit, repo, current, key, content);

    const body = bodyWith(STICKY_MARKER, key, content);
    const { data } = await octokit.rest.issues.createComment({ ...repo, issue_number: issue, body });
    const signed = this.header(repo, issue, data.id) + body.slice(STICKY_MARKER.length);
    await octokit.rest.issues.updateComment({ ...repo, comment_id: data.id, body: signed });
    const oldest = (await this.ours(octokit, repo, issue))[0];
    if (!oldest || oldest.id === data.id) return data.id;
    // Another instance created one at the same time: the older one stays.
    await octokit.rest.issues.deleteComment({ ...repo, comment_id: data.id }).catch((err: unknown) => {
      if (!isGone(err)) throw err;
    });
    return this.update(octokit, repo, oldest, key, content);
  }
}

function bodyWith(body: string, key: string, content: string): string {
  return fitWithin(withSection(body, key, content), BODY_LIMIT, '… cut: the comment reached GitHub\'s size limit.');
}
