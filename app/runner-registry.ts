// The runners this App may talk to, each bound by the operator to one URL and one token. A repository's
// configuration names a runner URL and the environment variable of its token; both must match one
// binding here, so no repository can send a token to another address or read any other variable of the
// App's environment (the private key, the webhook secret, another tenant's token).
import { RunnerClient } from '../runner/client/runner-client.ts';
import { ConfigError, type EnvironmentConfig } from './repo-config.ts';

export interface RunnerBinding {
  /** The environment variable the token comes from: what repository configurations name. */
  tokenEnv: string;
  url: string;
  token: string;
}

const TOKEN_PREFIX = 'SCHEMABOT_RUNNER_TOKEN_';
const URL_PREFIX = 'SCHEMABOT_RUNNER_URL_';

/** Bindings from the App's environment: `SCHEMABOT_RUNNER_TOKEN_<X>` with its `SCHEMABOT_RUNNER_URL_<X>`. */
export function bindingsFromEnv(env: NodeJS.ProcessEnv): RunnerBinding[] {
  return Object.keys(env).filter((k) => k.startsWith(TOKEN_PREFIX) && env[k]).flatMap((tokenEnv) => {
    const url = env[URL_PREFIX + tokenEnv.slice(TOKEN_PREFIX.length)];
    return url ? [{ tokenEnv, url, token: env[tokenEnv]! }] : [];
  });
}

const normalized = (url: string) => url.replace(/\/+$/, '');

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

  /** The client for a repository's environment, if the operator bound that token to that URL. */
  clientFor(environment: EnvironmentConfig): RunnerClient {
    const entry = this.clients.get(`${environment.tokenEnv} ${normalized(environment.runner)}`);
    if (!entry) {
      throw new ConfigError(`environment ${environment.name}: this App has no runner token ${environment.tokenEnv} bound to `
        + `${normalized(environment.runner)} (the operator binds them with ${TOKEN_PREFIX}<X> and ${URL_PREFIX}<X>)`);
    }
    return entry.client;
  }

  /** Every runner, for reconciliation and for finding a deploy by commit. */
  all(): RunnerClient[] {
    return [...this.clients.values()].map((e) => e.client);
  }

  /** A client per runner for reconciliation: short timeouts, no retries (the next pass is the retry). */
  pollers(): RunnerClient[] {
    return [...this.clients.values()].map((e) => e.poller);
  }

  /** Every token value, for log redaction. */
  secrets(): string[] {
    return [...this.clients.values()].map((e) => e.binding.token);
  }
}
