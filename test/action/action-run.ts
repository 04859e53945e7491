// Runs the committed bundle dist/index.js the way GitHub runs a node action: a child process with
// only the variables a runner sets (INPUT_<NAME> with hyphens kept, GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH, GITHUB_WORKSPACE, RUNNER_TEMP…), and reads back what
// GitHub would: the exit status, the outputs file, the job summary and the workflow commands.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { COMMITTED_BUNDLE } from '../../scripts/build-action.ts';

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  properties: Record<string, string>;
  message: string;
}

export interface ActionRun {
  status: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  annotations: Annotation[];
  /** stdout without workflow commands: what a reader of the job log sees. */
  log: string[];
}

export interface ActionRunOptions {
  inputs: Record<string, string>;
  workspace?: string;
  /** The event payload GitHub writes to GITHUB_EVENT_PATH. */
  event?: { name: string; payload: unknown };
  env?: Record<string, string>;
}

/** `name<<delimiter\nvalue\ndelimiter` blocks, as @actions/core writes them. */
export function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const block = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (const m of text.matchAll(block)) outputs[m[1]] = m[3];
  return outputs;
}

const unescapeData = (s: string) => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
const unescapeProperty = (s: string) => unescapeData(s).replace(/%3A/g, ':').replace(/%2C/g, ',');

export function parseAnnotations(stdout: string): Annotation[] {
  const annotations: Annotation[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^::(error|warning|notice)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!m) continue;
    const properties = Object.fromEntries((m[2] ?? '').split(',').filter(Boolean).map((p) => {
      const at = p.indexOf('=');
      return [p.slice(0, at), unescapeProperty(p.slice(at + 1))];
    }));
    annotations.push({ level: m[1] as Annotation['level'], properties, message: unescapeData(m[3]) });
  }
  return annotations;
}

export async function runAction(options: ActionRunOptions): Promise<ActionRun> {
  const dir = mkdtempSync(join(tmpdir(), 'schemabot-action-'));
  const files = { output: join(dir, 'output'), summary: join(dir, 'summary.md'), event: join(dir, 'event.json') };
  writeFileSync(files.output, '');
  writeFileSync(files.summary, '');
  writeFileSync(files.event, JSON.stringify(options.event?.payload ?? {}));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? dir,
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: files.output,
    GITHUB_STEP_SUMMARY: files.summary,
    GITHUB_EVENT_PATH: files.event,
    GITHUB_EVENT_NAME: options.event?.name ?? 'push',
    RUNNER_TEMP: dir,
    ...(options.workspace ? { GITHUB_WORKSPACE: options.workspace } : {}),
    ...options.env,
  };
  for (const [name, value] of Object.entries(options.inputs)) env[`INPUT_${name.toUpperCase()}`] = value;

  const child = spawn(process.execPath, [COMMITTED_BUNDLE], { cwd: options.workspace ?? dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk; });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk; });
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return {
    status, stdout, stderr,
    outputs: parseOutputs(readFileSync(files.output, 'utf8')),
    summary: existsSync(files.summary) ? readFileSync(files.summary, 'utf8') : '',
    annotations: parseAnnotations(stdout),
    log: stdout.split('\n').filter((line) => line !== '' && !line.startsWith('::')),
  };
}

/** The token reaches GitHub once, in the command that masks it, and nowhere else. */
export function expectTokenOnlyMasked(run: ActionRun, token: string): void {
  expect(run.stdout.split('\n').filter((line) => line.includes(token))).toEqual([`::add-mask::${token}`]);
  expect(run.stderr).not.toContain(token);
  expect(run.summary).not.toContain(token);
  expect(JSON.stringify(run.outputs)).not.toContain(token);
}
