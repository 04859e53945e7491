// The service verbs on the command line, with the HTTP API's semantics but straight on the state
// tables: `apply` submits a schema directory (and, unless detached, drives it with a foreground
// worker), `status` shows deploys, and cutover/pause/resume/abort/revert send a command.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import {
  FINAL_STATES, type DeployCommand, type DeployView, type MigrationView, type RunnerService,
} from '../queue/deploy-model.ts';
import { DeployService, type RunnerOptions } from '../queue/deploy-service.ts';
import { loadConfig, runnerOptionsOf, targetsFromDsn } from '../server/config.ts';
import { ACTIVE_STATES } from '../queue/deploy-model.ts';

const POLL_MS = 1_000;
const PROGRESS_EVERY_MS = 2_000;

interface TargetOptions {
  config?: string;
  target?: string;
  dsn?: string;
  json?: boolean;
}

/** The runner options for a verb, and the target it works on (undefined: every configured target). */
function resolveTargets(opts: TargetOptions): { runner: RunnerOptions; target?: string } {
  if (opts.dsn && opts.config) throw new Error('use either --config (with --target) or --dsn, not both');
  if (opts.dsn) {
    if (opts.target) throw new Error('--target goes with --config; with --dsn the target is the DSN itself');
    const targets = targetsFromDsn(opts.dsn);
    return { runner: { targets }, target: Object.keys(targets)[0] };
  }
  if (!opts.config) throw new Error('say which database: --config <file> --target <name>, or --dsn mysql://user:pass@host:port/db');
  const config = loadConfig(opts.config, process.env, { withTokens: false });
  const names = Object.keys(config.targets);
  if (opts.target && !names.includes(opts.target)) throw new Error(`no target "${opts.target}" in ${opts.config} (it has ${names.join(', ')})`);
  return {
    runner: runnerOptionsOf(config),
    target: opts.target ?? (names.length === 1 ? names[0] : undefined),
  };
}

function targetOptions(command: Command): Command {
  return command
    .option('--config <file>', 'runner config file (targets; passwords from environment variables)')
    .option('--target <name>', 'target in the config file (optional when it has only one)')
    .option('--dsn <dsn>', 'mysql://user:pass@host:port/database instead of a config file')
    .option('--json', 'print JSON instead of text');
}

async function withService<T>(runner: RunnerOptions, use: (service: DeployService) => Promise<T>): Promise<T> {
  const service = new DeployService(runner);
  try {
    return await use(service);
  } finally {
    await service.stop();
  }
}

function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:${process.env.USER ?? 'unknown'}`;
  }
}

function readSchemaDir(dir: string): Record<string, string> {
  const names = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  if (names.length === 0) throw new Error(`no *.sql files in ${dir}`);
  return Object.fromEntries(names.map((name) => [name, readFileSync(join(dir, name), 'utf8')]));
}

export function applyCommand(): Command {
  return targetOptions(new Command('apply'))
    .description('submit schemas/*.sql as a deploy and, unless --detach, run it here until it completes (or is ready to cut over, with --gated)')
    .option('--schema-dir <dir>', 'desired-state CREATE TABLE files', 'schemas')
    .option('--gated', 'wait for `schemabot cutover` before cutting over')
    .option('--cutover-after <iso>', 'do not cut over before this time (ISO 8601)')
    .option('--client-key <key>', 'idempotency key: submitting the same key again returns (and follows) the same deploy')
    .option('--detach', 'submit only; a running `schemabot serve` does the work')
    .action(async (opts: TargetOptions & { schemaDir: string; gated?: boolean; cutoverAfter?: string; clientKey?: string; detach?: boolean }) => {
      const { runner, target } = resolveTargets(opts);
      if (!target) throw new Error(`--target is required: ${opts.config} has ${Object.keys(runner.targets).join(', ')}`);
      const files = readSchemaDir(opts.schemaDir);
      await withService(runner, async (service) => {
        const { deploy, created } = await service.submit({
          target, files, clientKey: opts.clientKey ?? `cli-${randomUUID()}`, cutover: opts.gated ? 'gated' : 'auto',
          cutoverAfter: opts.cutoverAfter, actor: cliActor(),
        });
        note(created ? `submitted ${deploy.id} (client key ${deploy.clientKey})` : `${deploy.id} already exists for client key ${deploy.clientKey}: following it`);
        if (opts.detach) return print(deploy, opts.json);
        service.startWorker();
        const last = await follow(service, deploy.id);
        print(last, opts.json);
        if (last.state === 'ready-to-cutover') note(`ready to cut over: schemabot cutover --deploy ${last.id}`);
        else if (last.state !== 'complete') throw new Error(`deploy ${last.id} ${last.state}${last.error ? `: ${last.error}` : ''}`);
      });
    });
}

/** Polls until the deploy is final or waiting at its gate, printing progress to stderr; SIGINT stops following. */
async function follow(service: RunnerService, id: string): Promise<DeployView> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const printed = new Map<string, { line: string; stage: string; at: number }>();
  try {
    for (;;) {
      const deploy = await service.get(id);
      const items = [
        { key: 'deploy', stage: deploy.state, line: deployLine(deploy) },
        ...deploy.migrations.map((m) => ({ key: `migration ${m.id}`, stage: m.stage, line: `  ${migrationLine(m)}` })),
      ];
      for (const item of items) {
        const before = printed.get(item.key);
        if (before && (before.line === item.line || (before.stage === item.stage && Date.now() - before.at < PROGRESS_EVERY_MS))) continue;
        note(item.line);
        printed.set(item.key, { ...item, at: Date.now() });
      }
      if (FINAL_STATES.includes(deploy.state) || waitsAtGate(deploy)) return deploy;
      await sleep(POLL_MS, undefined, { signal: stop.signal }).catch(() => undefined);
      if (stop.signal.aborted) {
        throw new Error(`interrupted: ${id} stays ${deploy.state}; a runner (schemabot serve) carries it on, or run apply again with --client-key ${deploy.clientKey}`);
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Gated, ready, and nobody has released the cut-over yet. */
function waitsAtGate(deploy: DeployView): boolean {
  return deploy.state === 'ready-to-cutover' && deploy.cutover === 'gated' && !deploy.cutoverRequestedBy;
}

export function statusCommand(): Command {
  return targetOptions(new Command('status'))
    .description('show one deploy (--deploy), or every deploy that is not final')
    .option('--deploy <id>', 'deploy id, e.g. main.12')
    .action(async (opts: TargetOptions & { deploy?: string }) => {
      const { runner, target } = resolveTargets(opts);
      await withService(runner, async (service) => {
        if (opts.deploy) return print(await service.get(opts.deploy), opts.json);
        const deploys = await service.list({ target, states: ACTIVE_STATES });
        if (opts.json) return void process.stdout.write(`${JSON.stringify(deploys, null, 2)}\n`);
        if (deploys.length === 0) process.stdout.write('no deploys in progress\n');
        for (const deploy of deploys) print(deploy, false);
      });
    });
}

const COMMAND_HELP: Record<DeployCommand, string> = {
  cutover: 'release a gated deploy that is ready to cut over',
  pause: 'hold the copy, the index build and the cut-over (the binlog is still applied)',
  resume: 'resume a paused deploy',
  abort: 'stop a deploy before cut-over and remove its helper tables',
  revert: 'revert a completed deploy, keeping every write made since',
};

export function deployControlCommand(command: DeployCommand): Command {
  return targetOptions(new Command(command))
    .description(COMMAND_HELP[command])
    .requiredOption('--deploy <id>', 'deploy id, e.g. main.12')
    .action(async (opts: TargetOptions & { deploy: string }) => {
      const { runner } = resolveTargets(opts);
      await withService(runner, async (service) => print(await service.command(opts.deploy, command, cliActor()), opts.json));
    });
}

function note(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

function print(deploy: DeployView, json: boolean | undefined): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(deploy, null, 2)}\n`);
    return;
  }
  const lines = [deployLine(deploy), ...deploy.migrations.map((m) => `  ${migrationLine(m)}`)];
  lines.push(`  submitted by ${deploy.submittedBy} at ${deploy.createdAt}, updated ${deploy.updatedAt}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function deployLine(d: DeployView): string {
  const flags = [`cutover ${d.cutover}`, d.cutoverAfter ? `not before ${d.cutoverAfter}` : '', d.paused ? 'paused' : ''].filter(Boolean);
  return `${d.id} ${d.state} ${d.percent.toFixed(1)}% ETA ${duration(d.etaSeconds)} (${flags.join(', ')})`
    + (d.error ? ` error: ${d.error}` : '');
}

function migrationLine(m: MigrationView): string {
  const head = `${m.table} ${m.stage} ${m.method}${m.algorithm ? `/${m.algorithm}` : ''}`;
  const progress = m.method === 'online'
    ? ` ${m.percent.toFixed(1)}% ${m.rowsCopied}/${m.rowsTotal} rows, ${Math.round(m.rowsPerSecond)} rows/s, lag ${m.lagMs} ms, ETA ${duration(m.etaSeconds)}`
    : '';
  return head + progress + (m.throttle ? `, throttled: ${m.throttle}` : '') + (m.blocker ? `, blocked by ${m.blocker}` : '')
    + (m.error ? `, error: ${m.error}` : '');
}

function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
