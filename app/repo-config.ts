// `.github/schemabot.yml` in the target repository, read at the default branch's tip (config-loader.ts):
// which schema directories deploy to which environments, each on a runner reached with a token the App
// holds, plus the cut-over mode, lint severity overrides and the plan's conclusion with warnings.
//
//   branch: main                      # optional: deploys happen on merges into it (default: the repo's default branch)
//   schemas:
//     - dir: schemas
//       environments:
//         - name: production
//           runner: https://runner.internal:8080
//           tokenEnv: SCHEMABOT_RUNNER_TOKEN_PROD
//           target: main
//           cutover: gated            # auto (default) | gated
//   lint: { SB306: error, reserved-word: off }
//   warnings: neutral                 # the plan check run's conclusion with warnings and no error (default: success)
import { parse } from 'yaml';

export const CONFIG_PATH = '.github/schemabot.yml';
const MAX_CONFIG_BYTES = 64 * 1024;

export type CutoverMode = 'auto' | 'gated';
export type LintSeverity = 'error' | 'warning' | 'notice' | 'off';

export interface EnvironmentConfig {
  name: string;
  runner: string;
  tokenEnv: string;
  target: string;
  cutover: CutoverMode;
}

export interface SchemaDirConfig {
  dir: string;
  environments: EnvironmentConfig[];
}

export interface RepoConfig {
  branch?: string;
  /** The plan check run's conclusion when the plan has warnings and no error: success (default) or neutral. */
  warnings: 'success' | 'neutral';
  schemas: SchemaDirConfig[];
  lint: Record<string, LintSeverity>;
}

/** The configuration file is missing a field, has a wrong one, or does not parse: shown in the check run. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;
const DIR = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*$/;
const BRANCH = /^(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$/;
const SEVERITIES = new Set<LintSeverity>(['error', 'warning', 'notice', 'off']);

type Doc = Record<string, unknown>;

/** A mapping; with `keys`, only those keys are allowed. */
function object(value: unknown, where: string, keys?: string[]): Doc {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`${where} must be a mapping`);
  const unknown = keys ? Object.keys(value).filter((k) => !keys.includes(k)) : [];
  if (unknown.length) throw new ConfigError(`${where}: unknown key ${JSON.stringify(unknown[0]).slice(0, 60)} (expected ${keys!.join(', ')})`);
  return value as Doc;
}

function list(value: unknown, where: string, max: number): unknown[] {
  if (!Array.isArray(value) || value.length === 0) throw new ConfigError(`${where} must be a non-empty list`);
  if (value.length > max) throw new ConfigError(`${where}: at most ${max} entries`);
  return value;
}

function text(value: unknown, where: string, pattern: RegExp, hint: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) throw new ConfigError(`${where} must be ${hint}`);
  return value;
}

function environment(value: unknown, where: string): EnvironmentConfig {
  const doc = object(value, where, ['name', 'runner', 'tokenEnv', 'target', 'cutover']);
  const cutover = doc.cutover ?? 'auto';
  if (cutover !== 'auto' && cutover !== 'gated') throw new ConfigError(`${where}.cutover must be auto or gated`);
  return {
    name: text(doc.name, `${where}.name`, NAME, 'a name like production (a-z, 0-9, _ and -)'),
    runner: text(doc.runner, `${where}.runner`, /^https?:\/\/[^\s@]{1,300}$/, "the runner's http(s) URL, without credentials"),
    tokenEnv: text(doc.tokenEnv, `${where}.tokenEnv`, /^[A-Z][A-Z0-9_]{0,99}$/, 'the name of an environment variable of the App'),
    target: text(doc.target, `${where}.target`, NAME, "a target name of the runner's configuration"),
    cutover,
  };
}

export function parseRepoConfig(source: string): RepoConfig {
  if (Buffer.byteLength(source) > MAX_CONFIG_BYTES) throw new ConfigError(`${CONFIG_PATH} is larger than ${MAX_CONFIG_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = parse(source);
  } catch (err) {
    throw new ConfigError(`${CONFIG_PATH} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const doc = object(parsed, CONFIG_PATH, ['branch', 'schemas', 'lint', 'warnings']);
  const schemas = list(doc.schemas, 'schemas', 10).map((entry, i) => {
    const dirDoc = object(entry, `schemas[${i}]`, ['dir', 'environments']);
    const dir = text(dirDoc.dir, `schemas[${i}].dir`, DIR, 'a relative directory such as schemas (no .., no leading /)');
    const environments = list(dirDoc.environments, `schemas[${i}].environments`, 10).map((e, j) => environment(e, `schemas[${i}].environments[${j}]`));
    return { dir: dir.replace(/\/+$/, ''), environments };
  });
  const names = schemas.flatMap((s) => s.environments.map((e) => e.name));
  const repeated = names.find((n, i) => names.indexOf(n) !== i);
  if (repeated) throw new ConfigError(`environment ${repeated} is listed twice: each environment deploys one directory`);
  const lint: Record<string, LintSeverity> = {};
  for (const [rule, severity] of Object.entries(doc.lint === undefined ? {} : object(doc.lint, 'lint'))) {
    if (!/^[A-Za-z0-9-]{1,60}$/.test(rule) || !SEVERITIES.has(severity as LintSeverity)) {
      throw new ConfigError(`lint.${rule.slice(0, 60)} must be one of error, warning, notice, off`);
    }
    lint[rule] = severity as LintSeverity;
  }
  const branch = doc.branch === undefined ? undefined : text(doc.branch, 'branch', BRANCH, 'a branch name');
  const warnings = doc.warnings ?? 'success';
  if (warnings !== 'success' && warnings !== 'neutral') throw new ConfigError('warnings must be success or neutral');
  return { branch, schemas, lint, warnings };
}

/** Every (directory, environment) pair, in the order of the file. */
export function deployTargets(config: RepoConfig): { dir: string; environment: EnvironmentConfig }[] {
  return config.schemas.flatMap((s) => s.environments.map((environment) => ({ dir: s.dir, environment })));
}
