// A small, honest GitHub in memory (plain node:http), for the App's tests and `schemabot demo`: it
// issues ~520-character installation tokens only for a JWT signed with the App's private key, serves
// one repository's contents, commits, pull requests and comments, stores check runs, reactions,
// deployments and protection-rule answers, answers permission queries, delivers signed webhooks to the
// App, records every call, and can be told to fail calls (502, secondary rate limit) to prove the App
// retries. Everything it holds is public on the object, so a test or the demo reads what the App did.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyAppJwt, type AppRegistration } from './app-registration.ts';
import { deliverWebhook } from './webhook-delivery.ts';

export interface Call {
  method: string;
  path: string;
  body: any;
  /** `jwt`, `installation` (a token this fake issued), or what else came. */
  auth: string;
  status: number;
  /** A token the call carried, for checks that it never leaks. */
  token?: string;
  /** The webhook delivery the call was made for (Probot sends it along), if any. */
  delivery?: string;
}

export interface CheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  external_id?: string;
  output: { title?: string; summary?: string; text?: string };
  annotations: any[];
  actions: any[];
  /** Every state it was in, one entry per create/update. */
  history: { status: string; conclusion: string | null; title?: string; summary?: string }[];
}

export interface Comment {
  id: number;
  issue: number;
  body: string;
  user: { login: string; type: string };
  reactions: string[];
}

interface Injected {
  method: string;
  path: RegExp;
  times: number;
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

const APP_BOT = { login: 'schemabot[bot]', type: 'Bot' };

export interface Pull {
  number: number;
  base: string;
  head: string;
  baseRef: string;
  /** The merge commit, once merged. */
  merged?: string;
}

export class LocalGitHub {
  readonly calls: Call[] = [];
  readonly tokens = new Map<string, number>();
  readonly checkRuns: CheckRun[] = [];
  readonly comments: Comment[] = [];
  readonly deployments: { id: number; ref: string; environment: string; statuses: { state: string; description?: string }[] }[] = [];
  readonly protectionAnswers: { runId: string; body: any }[] = [];
  readonly permissions = new Map<string, string>();
  /** path → content, per commit sha; branches name → sha. */
  readonly commits = new Map<string, Map<string, string>>();
  readonly branches = new Map<string, string>();
  readonly pulls = new Map<number, Pull>();
  private readonly blobs = new Map<string, string>();
  private readonly injected: Injected[] = [];
  private readonly listeners = new Set<() => void>();
  private server!: Server;
  private nextId = 100;
  url = '';
  /** Where webhooks go: the App's `/api/github/webhooks`. */
  hookUrl = '';

  /** One repository, `owner/name`, with `app` installed on it as installation `installation`. */
  constructor(readonly owner: string, readonly name: string, readonly app: AppRegistration, readonly installation = 1) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** A commit with these files (every path → content), on `branch` if given. */
  commit(files: Record<string, string>, branch?: string): string {
    const sha = randomBytes(20).toString('hex');
    const tree = new Map<string, string>();
    for (const [path, content] of Object.entries(files)) {
      tree.set(path, content);
      this.blobs.set(blobSha(content), content);
    }
    this.commits.set(sha, tree);
    if (branch) this.branches.set(branch, sha);
    return sha;
  }

  filesAt(sha: string): Record<string, string> {
    return Object.fromEntries(this.commits.get(sha)!);
  }

  openPull(number: number, base: string, head: string, baseRef = 'main'): void {
    this.pulls.set(number, { number, base, head, baseRef });
  }

  /** Merges pull request `number` into its base branch: a commit of the head's files; returns its sha. */
  merge(number: number): string {
    const pull = this.pulls.get(number)!;
    pull.merged = this.commit(this.filesAt(pull.head), pull.baseRef);
    return pull.merged;
  }

  addComment(issue: number, body: string, login: string): Comment {
    const comment = { id: this.nextId++, issue, body, user: { login, type: 'User' }, reactions: [] };
    this.comments.push(comment);
    return comment;
  }

  /** Sends a webhook to the App, signed with its secret, as GitHub does. */
  deliver(event: string, payload: object, id?: string): Promise<{ status: number; text: string }> {
    return deliverWebhook(this.hookUrl, { event, payload, id, secret: this.app.webhookSecret });
  }

  /** Calls `listener` after every call that changed something; returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves with `check()` once it is truthy, re-checked after every change; rejects when `check`
   * throws, or after `timeoutMs`.
   */
  waitFor<T>(check: () => T, what: string, timeoutMs = 60_000): Promise<NonNullable<T>> {
    return new Promise((resolve, reject) => {
      let unsubscribe = () => {};
      const timer = setTimeout(() => finish(() => reject(new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`))), timeoutMs);
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        unsubscribe();
        settle();
      };
      const recheck = () => {
        try {
          const value = check();
          if (value) finish(() => resolve(value as NonNullable<T>));
        } catch (err) {
          finish(() => reject(err));
        }
      };
      unsubscribe = this.onChange(recheck);
      recheck();
    });
  }

  /** The next `times` calls matching method and path answer `status` (with headers and body). */
  inject(method: string, path: RegExp, status: number, options: { times?: number; headers?: Record<string, string>; body?: unknown } = {}): void {
    this.injected.push({ method, path, status, times: options.times ?? 1, headers: options.headers, body: options.body ?? { message: `injected ${status}` } });
  }

  checkRunsNamed(name: string): CheckRun[] {
    return this.checkRuns.filter((c) => c.name === name);
  }

  commentsOn(issue: number): Comment[] {
    return this.comments.filter((c) => c.issue === issue);
  }

  /** Calls that changed something (not GETs, not token requests). */
  writes(): Call[] {
    return this.calls.filter((c) => c.method !== 'GET' && !c.path.includes('/access_tokens'));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    // GitHub Enterprise Server's layout (GHE_HOST): the same API under /api/v3.
    const url = new URL((req.url ?? '/').replace(/^\/api\/v3(?=\/)/, ''), 'http://x');
    const call: Call = {
      method: req.method ?? 'GET', path: url.pathname, body: text ? JSON.parse(text) : undefined, auth: 'none', status: 0,
      delivery: req.headers['x-github-delivery'] as string | undefined,
    };
    const reply = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      call.status = status;
      this.calls.push(call);
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body === undefined ? '' : JSON.stringify(body));
      if (call.method !== 'GET' && status < 300) for (const listener of this.listeners) listener();
    };
    const authorization = String(req.headers.authorization ?? '');
    const injected = this.injected.find((i) => i.times > 0 && i.method === call.method && i.path.test(call.path));
    if (injected) {
      injected.times--;
      return reply(injected.status, injected.body, injected.headers);
    }
    if (call.method === 'POST' && /^\/app\/installations\/\d+\/access_tokens$/.test(call.path)) {
      call.auth = 'jwt';
      if (!verifyAppJwt(this.app, authorization)) return reply(401, { message: 'A JSON web token could not be decoded' });
      if (Number(call.path.split('/')[3]) !== this.installation) return reply(404, { message: 'Not Found' });
      const token = `ghs_${randomBytes(390).toString('base64url')}`;
      this.tokens.set(token, this.installation);
      return reply(201, { token, expires_at: new Date(Date.now() + 3_600_000).toISOString(), permissions: {}, repository_selection: 'all' });
    }
    const token = /^token (.+)$/i.exec(authorization)?.[1];
    call.token = token;
    call.auth = token && this.tokens.has(token) ? 'installation' : authorization ? 'unknown' : 'none';
    if (call.auth !== 'installation') return reply(401, { message: 'Bad credentials' });
    const prefix = `/repos/${this.owner}/${this.name}`;
    if (!call.path.startsWith(`${prefix}/`)) return reply(404, { message: 'Not Found' });
    const route = call.path.slice(prefix.length);
    const answer = this.route(call.method, route, url.searchParams, call.body);
    return reply(answer[0], answer[1]);
  }

  private resolve(ref: string | null): Map<string, string> | undefined {
    if (!ref) return this.commits.get(this.branches.get('main') ?? '');
    return this.commits.get(this.branches.get(ref) ?? ref);
  }

  private route(method: string, route: string, query: URLSearchParams, body: any): [number, unknown?] {
    let m: RegExpExecArray | null;
    if (method === 'GET' && (m = /^\/contents\/(.+)$/.exec(route))) {
      const tree = this.resolve(query.get('ref'));
      if (!tree) return [404, { message: 'No commit found for the ref' }];
      const path = decodeURIComponent(m[1]);
      const content = tree.get(path);
      if (content !== undefined) {
        return [200, { type: 'file', name: path.split('/').pop(), path, sha: blobSha(content), size: Buffer.byteLength(content), encoding: 'base64', content: Buffer.from(content).toString('base64') }];
      }
      const entries = [...tree].filter(([p]) => p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes('/'))
        .map(([p, c]) => ({ type: 'file', name: p.split('/').pop(), path: p, sha: blobSha(c), size: Buffer.byteLength(c) }));
      return entries.length ? [200, entries] : [404, { message: 'Not Found' }];
    }
    if (method === 'GET' && (m = /^\/git\/blobs\/([0-9a-f]{40})$/.exec(route))) {
      const content = this.blobs.get(m[1]);
      return content === undefined ? [404, { message: 'Not Found' }] : [200, { sha: m[1], size: Buffer.byteLength(content), encoding: 'base64', content: Buffer.from(content).toString('base64') }];
    }
    if (method === 'GET' && (m = /^\/pulls\/(\d+)\/files$/.exec(route))) {
      const pull = this.pulls.get(Number(m[1]));
      if (!pull) return [404, { message: 'Not Found' }];
      if (Number(query.get('page') ?? 1) > 1) return [200, []];
      const [base, head] = [this.commits.get(pull.base)!, this.commits.get(pull.head)!];
      const paths = [...new Set([...base.keys(), ...head.keys()])].filter((p) => base.get(p) !== head.get(p));
      return [200, paths.map((filename) => ({ filename, status: !base.has(filename) ? 'added' : !head.has(filename) ? 'removed' : 'modified' }))];
    }
    if (method === 'GET' && (m = /^\/pulls\/(\d+)$/.exec(route))) {
      const pull = this.pulls.get(Number(m[1]));
      if (!pull) return [404, { message: 'Not Found' }];
      return [200, pullJson(pull)];
    }
    if (method === 'GET' && (m = /^\/collaborators\/([^/]+)\/permission$/.exec(route))) {
      const permission = this.permissions.get(decodeURIComponent(m[1]));
      if (!permission) return [404, { message: 'Not Found' }];
      const legacy = permission === 'maintain' ? 'write' : permission === 'triage' ? 'read' : permission;
      return [200, { permission: legacy, role_name: permission, user: { login: m[1] } }];
    }
    if (method === 'POST' && route === '/check-runs') {
      const run: CheckRun = { id: this.nextId++, name: body.name, head_sha: body.head_sha, status: 'queued', conclusion: null, output: {}, annotations: [], actions: [], history: [] };
      this.checkRuns.push(run);
      return [201, this.updateCheckRun(run, body)];
    }
    if (method === 'PATCH' && (m = /^\/check-runs\/(\d+)$/.exec(route))) {
      const run = this.checkRuns.find((c) => c.id === Number(m![1]));
      return run ? [200, this.updateCheckRun(run, body)] : [404, { message: 'Not Found' }];
    }
    if (method === 'GET' && (m = /^\/issues\/(\d+)\/comments$/.exec(route))) {
      const perPage = Number(query.get('per_page') ?? 30);
      const page = Number(query.get('page') ?? 1);
      return [200, this.commentsOn(Number(m[1])).slice((page - 1) * perPage, page * perPage).map(commentJson)];
    }
    if (method === 'POST' && (m = /^\/issues\/(\d+)\/comments$/.exec(route))) {
      const comment = { id: this.nextId++, issue: Number(m[1]), body: body.body, user: APP_BOT, reactions: [] };
      this.comments.push(comment);
      return [201, commentJson(comment)];
    }
    if ((m = /^\/issues\/comments\/(\d+)(\/reactions)?$/.exec(route))) {
      const comment = this.comments.find((c) => c.id === Number(m![1]));
      if (!comment) return [404, { message: 'Not Found' }];
      if (method === 'GET' && !m[2]) return [200, commentJson(comment)];
      if (method === 'PATCH' && !m[2]) {
        if (comment.user.type !== 'Bot') return [403, { message: 'Resource not accessible by integration' }];
        comment.body = body.body;
        return [200, commentJson(comment)];
      }
      if (method === 'POST' && m[2]) {
        comment.reactions.push(body.content);
        return [201, { id: this.nextId++, content: body.content }];
      }
    }
    if (method === 'POST' && route === '/deployments') {
      const deployment = { id: this.nextId++, ref: body.ref, environment: body.environment, statuses: [] };
      this.deployments.push(deployment);
      return [201, { id: deployment.id, sha: body.ref, ref: body.ref, environment: body.environment }];
    }
    if (method === 'POST' && (m = /^\/deployments\/(\d+)\/statuses$/.exec(route))) {
      const deployment = this.deployments.find((d) => d.id === Number(m![1]));
      if (!deployment) return [404, { message: 'Not Found' }];
      deployment.statuses.push({ state: body.state, description: body.description });
      return [201, { id: this.nextId++, state: body.state }];
    }
    if (method === 'POST' && (m = /^\/actions\/runs\/(\d+)\/deployment_protection_rule$/.exec(route))) {
      this.protectionAnswers.push({ runId: m[1], body });
      return [204];
    }
    return [404, { message: `the fake has no route for ${method} ${route}` }];
  }

  private updateCheckRun(run: CheckRun, body: any): CheckRun {
    if (body.status) run.status = body.status;
    // A run moved back to queued or in progress is no longer concluded.
    if (body.status && body.status !== 'completed' && !body.conclusion) run.conclusion = null;
    if (body.conclusion) {
      run.conclusion = body.conclusion;
      run.status = 'completed';
    }
    if (body.external_id) run.external_id = body.external_id;
    if (body.actions) run.actions = body.actions;
    if (body.output) {
      const { annotations = [], ...output } = body.output;
      run.output = { ...run.output, ...output };
      run.annotations.push(...annotations);
    }
    run.history.push({ status: run.status, conclusion: run.conclusion, title: run.output.title, summary: run.output.summary });
    return run;
  }
}

export function blobSha(content: string): string {
  return createHash('sha1').update(`blob ${Buffer.byteLength(content)}\0`).update(content).digest('hex');
}

function commentJson(c: Comment) {
  return { id: c.id, body: c.body, user: c.user };
}

function pullJson(p: Pull) {
  return {
    number: p.number, state: p.merged ? 'closed' : 'open', merged: Boolean(p.merged), merge_commit_sha: p.merged ?? null,
    head: { sha: p.head, ref: `feature-${p.number}` }, base: { sha: p.base, ref: p.baseRef },
  };
}
