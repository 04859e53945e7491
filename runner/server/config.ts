// The runner's configuration file (YAML or JSON): where to listen, which bearer tokens are accepted
// and which databases it may change. Validated once here; everything downstream trusts the result.
// Secrets (tokens, database passwords) only ever come from environment variables, never from the file.
import { readFileSync } from 'node:fs';
import { parse, YAMLParseError } from 'yaml';
import { parseDsn, redactDsn, type ConnectionTarget } from '../db/dsn.ts';
import type { RunnerOptions } from '../queue/deploy-service.ts';
import { SCOPES, type NamedToken, type Scope } from './auth.ts';

export const TARGET_NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;
const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SCHEMA_NAME = /^[A-Za-z0-9_$]{1,64}$/;
const MIN_TOKEN_LENGTH = 16;

export interface RunnerConfig {
  listen: { host: string; port: number };
  tokens: NamedToken[];
  targets: Record<string, ConnectionTarget>;
  /** Per target: replicas whose lag pauses the copy. */
  replicas: Record<string, ConnectionTarget[]>;
  stateSchema?: string;
  retentionHours?: number;
  throttle: { maxLagMs?: number; maxThreadsRunning?: number; query?: string };
  /** Kill the connections that keep a cut-over from its tables (exact lock information only). */
  killBlockers: boolean;
}

/** What the runner service takes from a config (the caller adds its observer). */
export function runnerOptionsOf(config: RunnerConfig): RunnerOptions {
  return {
    targets: config.targets,
    replicas: config.replicas,
    stateSchema: config.stateSchema,
    retentionSeconds: config.retentionHours === undefined ? undefined : config.retentionHours * 3600,
    migration: {
      maxLagMs: config.throttle.maxLagMs, maxThreadsRunning: config.throttle.maxThreadsRunning, throttleQuery: config.throttle.query,
      killBlockers: config.killBlockers,
    },
  };
}

/** A configuration that cannot be used; the message names the field and never contains a secret. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

/**
 * Reads and validates a config file. `withTokens: false` (the CLI verbs, which talk to the databases
 * directly) still checks the token entries but neither reads nor requires their variables.
 */
export function loadConfig(path: string, env: Env = process.env, options: { withTokens?: boolean } = {}): RunnerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseConfig(text, env, path, options);
}

export function parseConfig(text: string, env: Env, source = 'config', options: { withTokens?: boolean } = {}): RunnerConfig {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    // The parser's message quotes the offending line, which may hold a secret: report the position only.
    if (err instanceof YAMLParseError) {
      const [pos] = err.linePos ?? [];
      throw new ConfigError(`${source}: not valid YAML/JSON (${err.code}${pos ? ` at line ${pos.line}, column ${pos.col}` : ''})`);
    }
    throw err;
  }
  const doc = record(raw, source);
  allowKeys(doc, source, ['listen', 'tokens', 'stateSchema', 'retentionHours', 'targets', 'throttle', 'killBlockers']);
  const targets = record(doc.targets, 'targets');
  return {
    listen: listenOf(doc.listen),
    tokens: tokensOf(doc.tokens, options.withTokens === false ? undefined : env),
    targets: targetsOf(targets, env),
    replicas: Object.fromEntries(Object.keys(targets).map((name) => [name, replicasOf(targets[name], `targets.${name}`, env)])),
    throttle: throttleOf(doc.throttle),
    killBlockers: doc.killBlockers === undefined ? false : bool(doc.killBlockers, 'killBlockers'),
    stateSchema: doc.stateSchema === undefined ? undefined : matching(doc.stateSchema, 'stateSchema', SCHEMA_NAME),
    retentionHours: doc.retentionHours === undefined ? undefined : positiveNumber(doc.retentionHours, 'retentionHours'),
  };
}

/** The single target `schemabot … --dsn D` works on, named after its database. */
export function targetsFromDsn(dsn: string): Record<string, ConnectionTarget> {
  const target = parseDsn(dsn);
  return { [targetNameFor(target.database)]: target };
}

export function targetNameFor(database: string): string {
  const name = database.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[_-]+/, '').slice(0, 40);
  return name || 'db';
}

/** Every secret value the configuration holds, for scrubbing logs. */
export function configSecrets(config: Pick<RunnerConfig, 'tokens' | 'targets' | 'replicas'>): string[] {
  return [...config.tokens.map((t) => t.value), ...Object.values(config.targets).map((t) => t.password),
    ...Object.values(config.replicas).flat().map((r) => r.password)].filter(Boolean);
}

function listenOf(value: unknown): RunnerConfig['listen'] {
  if (value === undefined) return { host: '127.0.0.1', port: 8080 };
  const listen = record(value, 'listen');
  allowKeys(listen, 'listen', ['host', 'port']);
  const host = listen.host === undefined ? '127.0.0.1' : text(listen.host, 'listen.host');
  const port = listen.port === undefined ? 8080 : listen.port;
  if (!Number.isInteger(port) || (port as number) < 0 || (port as number) > 65535) {
    throw new ConfigError('listen.port must be an integer from 0 to 65535');
  }
  return { host, port: port as number };
}

function tokensOf(value: unknown, env: Env | undefined): RunnerConfig['tokens'] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new ConfigError('tokens must list at least one token: [{ name: github-app, env: SCHEMABOT_TOKEN_APP }]');
  }
  const entries = value.map((item, i) => {
    const field = `tokens[${i}]`;
    const entry = record(item, field);
    refuseInlineSecrets(entry, field, ['value', 'token', 'secret'], 'a token');
    allowKeys(entry, field, ['name', 'env', 'scopes']);
    return {
      name: matching(entry.name, `${field}.name`, TOKEN_NAME), variable: matching(entry.env, `${field}.env`, ENV_NAME),
      scopes: entry.scopes === undefined ? undefined : scopesOf(entry.scopes, `${field}.scopes`),
    };
  });
  entries.forEach((entry, i) => {
    if (entries.findIndex((e) => e.name === entry.name) !== i) throw new ConfigError(`tokens: the name "${entry.name}" is used twice`);
  });
  if (!env) return [];
  const tokens = entries.map(({ name, variable, scopes }, i) => {
    const secret = fromEnv(variable, `tokens[${i}].env`, env, true);
    if (secret.length < MIN_TOKEN_LENGTH) {
      throw new ConfigError(`token "${name}" ($${variable}) is shorter than ${MIN_TOKEN_LENGTH} characters`);
    }
    return { name, value: secret, ...(scopes ? { scopes } : {}) };
  });
  tokens.forEach((token, i) => {
    const twin = tokens.findIndex((t) => t.value === token.value);
    if (twin !== i) throw new ConfigError(`tokens "${tokens[twin].name}" and "${token.name}" have the same value: each caller needs its own token`);
  });
  return tokens;
}

function scopesOf(value: unknown, field: string): Scope[] {
  if (!Array.isArray(value) || value.length === 0) throw new ConfigError(`${field} must list one or more of ${SCOPES.join(', ')}`);
  for (const scope of value) {
    if (!(SCOPES as readonly unknown[]).includes(scope)) {
      throw new ConfigError(`${field}: "${String(scope).slice(0, 40)}" is not a scope (${SCOPES.join(', ')})`);
    }
  }
  return [...new Set(value as Scope[])];
}

function targetsOf(targets: Record<string, unknown>, env: Env): RunnerConfig['targets'] {
  const names = Object.keys(targets);
  if (names.length === 0) throw new ConfigError('targets must name at least one database');
  return Object.fromEntries(names.map((name) => {
    if (!TARGET_NAME.test(name)) {
      throw new ConfigError(`targets: "${name.slice(0, 60)}" is not a valid target name (${TARGET_NAME.source})`);
    }
    return [name, targetOf(targets[name], `targets.${name}`, env)];
  }));
}

/** `replicas: [{dsn, passwordEnv}]` beside a target's own `dsn`. */
function replicasOf(value: unknown, field: string, env: Env): ConnectionTarget[] {
  const { replicas } = record(value, field);
  if (replicas === undefined) return [];
  if (!Array.isArray(replicas)) throw new ConfigError(`${field}.replicas must be a list of {dsn, passwordEnv}`);
  return replicas.map((replica, i) => targetOf(replica, `${field}.replicas[${i}]`, env, ['dsn', 'passwordEnv']));
}

function bool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(`${field} must be true or false`);
  return value;
}

function throttleOf(value: unknown): RunnerConfig['throttle'] {
  if (value === undefined) return {};
  const entry = record(value, 'throttle');
  allowKeys(entry, 'throttle', ['maxLagMs', 'maxThreadsRunning', 'query']);
  return {
    maxLagMs: entry.maxLagMs === undefined ? undefined : positiveNumber(entry.maxLagMs, 'throttle.maxLagMs'),
    maxThreadsRunning: entry.maxThreadsRunning === undefined ? undefined : positiveNumber(entry.maxThreadsRunning, 'throttle.maxThreadsRunning'),
    query: entry.query === undefined ? undefined : text(entry.query, 'throttle.query'),
  };
}

function targetOf(value: unknown, field: string, env: Env, keys = ['dsn', 'passwordEnv', 'replicas']): ConnectionTarget {
  const entry = record(value, field);
  refuseInlineSecrets(entry, field, ['password'], 'a password');
  allowKeys(entry, field, keys);
  const dsn = text(entry.dsn, `${field}.dsn`);
  if (hasInlinePassword(dsn)) {
    throw new ConfigError(`${field}.dsn contains a password: remove it from the DSN and name an environment variable in ${field}.passwordEnv`);
  }
  let target: ConnectionTarget;
  try {
    target = parseDsn(dsn);
  } catch (err) {
    throw new ConfigError(`${field}.dsn: ${(err as Error).message.replace(dsn, redactDsn(dsn))}`);
  }
  const password = entry.passwordEnv === undefined ? '' : fromEnv(entry.passwordEnv, `${field}.passwordEnv`, env, false);
  return { ...target, password };
}

/** `user:secret@` in the authority part, however the secret is spelled (it may hold `/` or `@`). */
function hasInlinePassword(dsn: string): boolean {
  const authority = dsn.replace(/^[a-z]+:\/\//i, '');
  const at = authority.lastIndexOf('@');
  return at >= 0 && authority.slice(0, at).includes(':');
}

function refuseInlineSecrets(entry: Record<string, unknown>, field: string, keys: string[], what: string): void {
  const key = keys.find((k) => k in entry);
  if (key) {
    throw new ConfigError(`${field}.${key}: ${what} written in the config file is refused; put it in an environment variable and name that variable with "${what === 'a token' ? 'env' : 'passwordEnv'}"`);
  }
}

function fromEnv(name: unknown, field: string, env: Env, required: boolean): string {
  const variable = matching(name, field, ENV_NAME);
  const value = env[variable];
  if (value === undefined || (required && value === '')) {
    throw new ConfigError(`${field}: the environment variable ${variable} is not set`);
  }
  return value;
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError(`${field} must be a mapping`);
  }
  return value as Record<string, unknown>;
}

function allowKeys(entry: Record<string, unknown>, field: string, keys: string[]): void {
  const unknown = Object.keys(entry).find((k) => !keys.includes(k));
  if (unknown !== undefined) {
    throw new ConfigError(`${field}: unknown key "${unknown.slice(0, 60)}" (expected ${keys.join(', ')})`);
  }
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '') throw new ConfigError(`${field} must be a non-empty string`);
  return value;
}

function matching(value: unknown, field: string, pattern: RegExp): string {
  const s = text(value, field);
  if (!pattern.test(s)) throw new ConfigError(`${field} must match ${pattern.source}`);
  return s;
}

function positiveNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ConfigError(`${field} must be a positive number`);
  return value;
}
