// The runner's HTTP API as a typed client, for the GitHub App and the Action: they know GitHub, and
// reach databases only through this. Reads and idempotent writes are retried on network errors and
// 502/503/504; errors carry the runner's code and message, never the token or the URL's secrets.
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  DeployCommand, DeployEvent, DeployView, ExternalPatch, ListFilter, SubmitRequest,
} from '../queue/deploy-model.ts';
import type { Plan } from '../schema/planner.ts';

export type { DeployView, DeployState, DeployEvent, MigrationView } from '../queue/deploy-model.ts';
export type { Plan } from '../schema/planner.ts';
export { SCHEMA_FILE_NAME } from '../queue/deploy-model.ts';

export interface RunnerClientOptions {
  /** Base URL, e.g. `http://runner:8080`. */
  url: string;
  token: string;
  /** Per request; default 60 s (a plan on a large schema takes a while). */
  timeoutMs?: number;
  /** Attempts for retryable requests; default 4. */
  attempts?: number;
  /** Delay before the second attempt, doubled each time; default 500 ms. */
  retryDelayMs?: number;
}

export interface PlanResult {
  plan: Plan;
  markdown: string;
}

/** What the runner's submit takes; `actor` is whom the caller acts for (the runner adds the token's name). */
export type SubmitInput = Omit<SubmitRequest, 'actor'> & { actor?: string };

export type ListQuery = ListFilter;

/** A refusal or failure from the runner (status 0: it could not be reached). */
export class RunnerError extends Error {
  override name = 'RunnerError';
  constructor(readonly status: number, readonly code: string, message: string, readonly body?: unknown) {
    super(message);
  }
}

const RETRYABLE_STATUS = new Set([502, 503, 504]);

export class RunnerClient {
  private readonly base: URL;

  constructor(private readonly options: RunnerClientOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new RunnerError(0, 'bad-url', 'the runner URL is not a valid URL');
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new RunnerError(0, 'bad-url', 'the runner URL must be http(s)');
    if (base.username || base.password) throw new RunnerError(0, 'bad-url', 'the runner URL must not carry credentials: pass the token separately');
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.base = base;
  }

  /** Where the runner is, for messages: scheme, host and port only. */
  get origin(): string {
    return this.base.origin;
  }

  health(): Promise<{ ok: boolean }> {
    return this.request('GET', 'healthz', undefined, true);
  }

  targets(): Promise<string[]> {
    return this.request<{ targets: string[] }>('GET', 'v1/targets', undefined, true).then((r) => r.targets);
  }

  plan(input: { target: string; files: Record<string, string>; baseFiles?: Record<string, string> }): Promise<PlanResult> {
    return this.request('POST', 'v1/plans', input, true);
  }

  /** Idempotent by `clientKey`: a retried or repeated submit returns the first deploy. */
  submit(input: SubmitInput): Promise<DeployView> {
    return this.request('POST', 'v1/deploys', input, true);
  }

  get(id: string): Promise<DeployView> {
    return this.request('GET', `v1/deploys/${encodeURIComponent(id)}`, undefined, true);
  }

  list(query: ListQuery = {}): Promise<DeployView[]> {
    const params = new URLSearchParams();
    if (query.target) params.set('target', query.target);
    if (query.states?.length) params.set('state', query.states.join(','));
    if (query.limit) params.set('limit', String(query.limit));
    for (const [key, value] of Object.entries(query.external ?? {})) params.set(`external.${key}`, value);
    const search = params.size > 0 ? `?${params}` : '';
    return this.request<{ deploys: DeployView[] }>('GET', `v1/deploys${search}`, undefined, true).then((r) => r.deploys);
  }

  events(id: string): Promise<DeployEvent[]> {
    return this.request<{ events: DeployEvent[] }>('GET', `v1/deploys/${encodeURIComponent(id)}/events`, undefined, true).then((r) => r.events);
  }

  revertImpact(id: string): Promise<string[]> {
    return this.request<{ impact: string[] }>('GET', `v1/deploys/${encodeURIComponent(id)}/revert-impact`, undefined, true).then((r) => r.impact);
  }

  /** Not retried: a command that reached the runner but whose answer was lost would be refused (409) the second time. */
  command(id: string, command: DeployCommand, actor?: string): Promise<DeployView> {
    return this.request('POST', `v1/deploys/${encodeURIComponent(id)}/${command}`, actor ? { actor } : {}, false);
  }

  /** Compare-and-set on the deploy's `external` metadata; `applied: false` carries the deploy as it is now. */
  async patchExternal(id: string, patch: ExternalPatch): Promise<{ applied: boolean; deploy: DeployView }> {
    try {
      return { applied: true, deploy: await this.request<DeployView>('PATCH', `v1/deploys/${encodeURIComponent(id)}/external`, patch, true) };
    } catch (err) {
      if (err instanceof RunnerError && err.code === 'external-changed') {
        return { applied: false, deploy: (err.body as { deploy: DeployView }).deploy };
      }
      throw err;
    }
  }

  private async request<T>(method: string, path: string, body: unknown, retryable: boolean): Promise<T> {
    const attempts = retryable ? this.options.attempts ?? 4 : 1;
    let delay = this.options.retryDelayMs ?? 500;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(method, path, body);
      } catch (err) {
        const transient = err instanceof RunnerError && (err.status === 0 || RETRYABLE_STATUS.has(err.status));
        if (!transient || attempt >= attempts) throw err;
        await sleep(delay);
        delay *= 2;
      }
    }
  }

  private async once<T>(method: string, path: string, body: unknown): Promise<T> {
    const url = new URL(path, this.base);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 60_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
      throw new RunnerError(0, 'unreachable', `the runner at ${this.origin} could not be reached (${cause})`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (response.ok) {
      if (parsed === undefined) throw new RunnerError(response.status, 'bad-response', `the runner at ${this.origin} answered ${method} /${path.split('?')[0]} with no JSON`);
      return parsed as T;
    }
    const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
    const message = error?.message ?? `the runner at ${this.origin} answered HTTP ${response.status}`;
    throw new RunnerError(response.status, error?.code ?? `http-${response.status}`, message, parsed);
  }
}
