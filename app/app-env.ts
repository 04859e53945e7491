// The App's settings from its environment, as Probot names them (APP_ID, PRIVATE_KEY or
// PRIVATE_KEY_PATH, WEBHOOK_SECRET, GHE_HOST/GHE_PROTOCOL, HOST, PORT, LOG_LEVEL) plus the runner
// bindings (SCHEMABOT_RUNNER_TOKEN_<X> with SCHEMABOT_RUNNER_URL_<X> and SCHEMABOT_RUNNER_INSTALLATIONS_<X>)
// and SCHEMABOT_RECONCILE_MS.
import { readFileSync } from 'node:fs';
import type { AppServerOptions } from './app-server.ts';
import { bindingsFromEnv, RunnerRegistry, type RunnerBinding } from './runner-registry.ts';

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set: see docs/app.md`);
  return value;
}

function privateKeyOf(env: NodeJS.ProcessEnv): string {
  if (env.PRIVATE_KEY) return env.PRIVATE_KEY.replace(/\\n/g, '\n');
  if (env.PRIVATE_KEY_PATH) return readFileSync(env.PRIVATE_KEY_PATH, 'utf8');
  throw new Error('PRIVATE_KEY or PRIVATE_KEY_PATH is not set: see docs/app.md');
}

/** `extraBindings`: runners of the same process (`schemabot serve --app`). */
export function appOptionsFromEnv(env: NodeJS.ProcessEnv, extraBindings: RunnerBinding[] = []): AppServerOptions {
  const port = env.PORT === undefined ? 3000 : Number(env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('PORT must be an integer from 0 to 65535');
  const reconcileMs = env.SCHEMABOT_RECONCILE_MS === undefined ? undefined : Number(env.SCHEMABOT_RECONCILE_MS);
  if (reconcileMs !== undefined && !(reconcileMs >= 500)) throw new Error('SCHEMABOT_RECONCILE_MS must be a number of milliseconds, at least 500');
  return {
    appId: required(env, 'APP_ID'),
    privateKey: privateKeyOf(env),
    webhookSecret: required(env, 'WEBHOOK_SECRET'),
    baseUrl: env.GHE_HOST ? `${env.GHE_PROTOCOL || 'https'}://${env.GHE_HOST}/api/v3` : undefined,
    host: env.HOST ?? '127.0.0.1',
    port,
    logLevel: env.LOG_LEVEL ?? 'info',
    registry: new RunnerRegistry([...extraBindings, ...bindingsFromEnv(env)]),
    reconcile: { intervalMs: reconcileMs },
  };
}
