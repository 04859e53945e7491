// The Action's inputs, read and checked once (action.yml declares them; GitHub passes each as
// `INPUT_<NAME>`, a hyphen kept). Later code trusts what this returns.
import * as core from '@actions/core';
import { isAbsolute, normalize, sep } from 'node:path';
import { ActionFailure } from './failure.ts';

export const COMMANDS = ['plan', 'submit', 'cutover', 'status'] as const;
export type Command = (typeof COMMANDS)[number];

export interface ActionInputs {
  command: Command;
  runnerUrl: string;
  runnerToken: string;
  /** Relative to the repository root, with `/` separators and no `./` or trailing slash. */
  schemaDir: string;
  /** The runner target (database); when empty, the runner's only target. */
  environment?: string;
  /** A deploy id (`main.12`) given by the workflow; otherwise the deploy is found from the commit. */
  deploy?: string;
  timeoutMinutes: number;
}

const DEFAULT_TIMEOUT_MINUTES = 60;
/** 30 days: as long as GitHub keeps a job waiting for its environment's reviewers. */
const MAX_TIMEOUT_MINUTES = 43_200;
export const TARGET_NAME = /^[a-z0-9][a-z0-9_-]{0,39}$/;

function required(name: string): string {
  const value = core.getInput(name);
  if (!value) throw new ActionFailure(`input "${name}" is required`);
  return value;
}

function shown(value: string): string {
  return JSON.stringify(value.slice(0, 60));
}

function parseCommand(value: string): Command {
  const command = COMMANDS.find((c) => c === value);
  if (!command) throw new ActionFailure(`input "command" must be one of ${COMMANDS.join(', ')} (got ${shown(value)})`);
  return command;
}

function parseSchemaDir(value: string): string {
  const dir = normalize(value || 'schemas').split(sep).join('/').replace(/\/+$/, '');
  if (isAbsolute(dir) || dir === '..' || dir.startsWith('../')) {
    throw new ActionFailure(`input "schema-dir" must be a directory inside the repository (got ${shown(value)})`);
  }
  return dir;
}

/** A runner target name, as the runner's configuration allows them (it also names the plan JSON file). */
function parseEnvironment(value: string): string | undefined {
  if (!value) return undefined;
  if (!TARGET_NAME.test(value)) throw new ActionFailure(`input "environment" must be a target name of the runner (a-z, 0-9, _ and -; got ${shown(value)})`);
  return value;
}

function parseTimeout(value: string): number {
  if (!value) return DEFAULT_TIMEOUT_MINUTES;
  const minutes = Number(value);
  if (!Number.isFinite(minutes) || minutes <= 0 || minutes > MAX_TIMEOUT_MINUTES) {
    throw new ActionFailure(`input "timeout-minutes" must be a number of minutes above 0 and at most ${MAX_TIMEOUT_MINUTES} (got ${shown(value)})`);
  }
  return minutes;
}

export function readInputs(): ActionInputs {
  return {
    command: parseCommand(required('command')),
    runnerUrl: required('runner-url'),
    runnerToken: required('runner-token'),
    schemaDir: parseSchemaDir(core.getInput('schema-dir')),
    environment: parseEnvironment(core.getInput('environment')),
    deploy: core.getInput('deploy') || undefined,
    timeoutMinutes: parseTimeout(core.getInput('timeout-minutes')),
  };
}
