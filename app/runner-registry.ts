// The runners this App may talk to, each bound by the operator to one URL, one token and the GitHub
// App installations it serves. A repository's configuration names a runner URL and the environment
// variable of its token; both must match one binding here, and the binding must serve the repository's
// installation, so no repository can send a token to another address, read any other variable of the
// App's environment (the private key, the webhook secret), or reach another tenant's runner.
import { RunnerClient } from '../runner/client/runner-client.ts';
import { ConfigError, type EnvironmentConfig } from './repo-config.ts';

export interface RunnerBinding {
  /** The environment variable the token comes from: what repository configurations name. */
  tokenEnv: string;
  url: string;
  token: string;
  /** The installations whose repositories may use this runner; every one when absent (one-tenant setups). */
  installations?: number[];
}

/** A runner as reconciliation polls it. */
export interface Poller {
  client: RunnerClient;
  serves(installation: number): boolean;
}

const TOKEN_PREFIX = 'SCHEMABOT_RUNNER_TOKEN_';
const URL_PREFIX = 'SCHEMABOT_RUNNER_URL_';
const INSTALLATIONS_PREFIX = 'SCHEMABOT_RUNNER_INSTALLATIONS_';

function installationsOf(env: NodeJS.ProcessEnv, name: string): number[] | undefined {
  const value = env[INSTALLATIONS_PREFIX + name]?.trim();
  if (value === '*') return undefined;
  const ids = (value ?? '').split(',').map((id) => id.trim()).filter(Boolean);
  if (ids.length === 0 || ids.some((id) => !/^\d{1,15}$/.test(id))) {
    throw new Error(`${INSTALLATIONS_PREFIX}${name} must list the GitHub App installation ids whose repositories may use this runner (comma-separated), or be * for all: see docs/app.md`);
  }
  return ids.map(Number);
}

/**
 * Bindings from the App's environment: `SCHEMABOT_RUNNER_TOKEN_<X>` with its `SCHEMABOT_RUNNER_URL_<X>`
 * and `SCHEMABOT_RUNNER_INSTALLATIONS_<X>` (required: a hosted App must say which tenant owns a runner).
 */
export function bindingsFromEnv(env: NodeJS.ProcessEnv): RunnerBinding[] {
  return Object.keys(env).filter((k) => k.startsWith(TOKEN_PREFIX) && env[k]).flatMap((tokenEnv) => {
    const name = tokenEnv.slice(TOKEN_PREFIX.length);
    const url = env[URL_PREFIX + name];
    return url ? [{ tokenEnv, url, token: env[tokenEnv]!, installations: installationsOf(env, name) }] : [];
  });
}

const normalized = (url: string) => url.replace(/\/+$/, '');
const serving = (binding: RunnerBinding) => (installation: number) => !binding.installations || binding.installations.includes(installation);

/** Reconciliation polls every few seconds: a runner that does not answer in this long is tried on the next pass. */
const POLL_TIMEOUT_MS = 10_000;

export class RunnerRegistry {
  private readonly clients = new Map<string, { binding: RunnerBinding; client: RunnerClient; poller: RunnerClient }>();

  constructor(bindings: RunnerBinding[], clientOptions: { attempts?: number; retryDelayMs?: number; pollTimeoutMs?: number } = {}) {
    const { pollTimeoutMs = POLL_TIMEOUT_MS, ...options } = clientOptions;
    for (const binding of bindings) {
      const key = `${binding.tokenEnv} ${normalized(binding.url)}`;
      const client = new RunnerClient({ url: binding.url, token: binding.token, ...options });
      const poller = new RunnerClient({ url: binding.url, token: binding.token, ...options, timeoutMs: pollTimeoutMs, attempts: 1 });
      this.clients.set(key, { binding, client, poller });
    }
  }

  /** The client for a repository's environment, if the operator bound that token to that URL for the repository's installation. */
  clientFor(environment: EnvironmentConfig, installation: number): RunnerClient {
    const entry = this.clients.get(`${environment.tokenEnv} ${normalized(environment.runner)}`);
    if (!entry || !serving(entry.binding)(installation)) {
      throw new ConfigError(`environment ${environment.name}: this App has no runner token ${environment.tokenEnv} bound to `
        + `${normalized(environment.runner)} for this repository (the operator binds them with ${TOKEN_PREFIX}<X>, ${URL_PREFIX}<X> and ${INSTALLATIONS_PREFIX}<X>)`);
    }
    return entry.client;
  }

  /** A client per runner for reconciliation: short timeouts, no retries (the next pass is the retry). */
  pollers(): Poller[] {
    return [...this.clients.values()].map((e) => ({ client: e.poller, serves: serving(e.binding) }));
  }

  /** Every token value, for log redaction. */
  secrets(): string[] {
    return [...this.clients.values()].map((e) => e.binding.token);
  }
}
