// Pull-request comments whose first line is a command: `/plan`, `/status`, `/pause`, `/resume`
// (write or above), `/cutover`, `/revert`, `/abort` (maintain or admin). The permission (from the API,
// looked up by the caller before anything else happens) is checked first; a refused user changes nothing. What each command did is
// returned as a short reply; the caller acknowledges with reactions.
import type { Logger } from 'pino';
import type { ProbotOctokit } from 'probot';
import { RunnerError } from '../runner/client/runner-client.ts';
import { loadConfig } from './config-loader.ts';
import { deploysOfPull, type FoundDeploy } from './deploy-lookup.ts';
import { statusLine } from './deploy-progress.ts';
import { runnerMessage } from './failure-output.ts';
import { md } from './markdown.ts';
import { meets, type Needed, type Permission } from './permissions.ts';
import { publishPlans } from './plan-publisher.ts';
import { ConfigError } from './repo-config.ts';
import type { RepoRef } from './repo-files.ts';
import type { RunnerRegistry } from './runner-registry.ts';
import type { Signer } from './signer.ts';
import type { StickyComments } from './sticky-comment.ts';

export const COMMANDS = {
  plan: 'write', status: 'write', pause: 'write', resume: 'write', cutover: 'maintain', revert: 'maintain', abort: 'maintain',
} as const satisfies Record<string, Needed>;
export type CommandName = keyof typeof COMMANDS;

/** The command on the comment's first line, if it is one of ours. */
export function parseCommand(body: string): CommandName | undefined {
  const name = /^\s*\/([a-z]+)\s*$/.exec(body.split('\n')[0] ?? '')?.[1];
  return name && Object.hasOwn(COMMANDS, name) ? (name as CommandName) : undefined;
}

export interface CommandRequest {
  octokit: ProbotOctokit;
  repo: RepoRef;
  pr: number;
  login: string;
  /** The commenter's permission, as GitHub reports it. */
  permission: Permission;
  defaultBranch: string;
  installation: number;
  registry: RunnerRegistry;
  signer: Signer;
  sticky: StickyComments;
  log: Logger;
}

export interface CommandResult {
  ok: boolean;
  reply: string;
}

export async function runCommand(name: CommandName, request: CommandRequest): Promise<CommandResult> {
  const { octokit, repo, login, permission } = request;
  const needed = COMMANDS[name];
  if (!meets(permission, needed)) {
    return { ok: false, reply: `\`/${name}\` needs ${needed === 'write' ? 'write' : 'maintain or admin'} permission on this repository; ${md(login)} has ${md(permission.role)}. Nothing was done.` };
  }
  if (name === 'plan') return replan(request);
  let found: FoundDeploy[];
  try {
    const config = await loadConfig(octokit, repo, request.defaultBranch);
    if (!config) return { ok: false, reply: 'This repository has no `.github/schemabot.yml` on its default branch.' };
    found = await deploysOfPull({ ...request, config, repo: `${repo.owner}/${repo.repo}` }, request.pr);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { ok: false, reply: `\`.github/schemabot.yml\`: ${md(err.message)}` };
  }
  if (found.length === 0) return { ok: false, reply: 'This pull request has no schema deploy (yet): deploys start when it is merged.' };
  if (name === 'status') return { ok: true, reply: found.map(describe).join('\n') };
  const lines: string[] = [];
  let ok = false;
  for (const item of found) {
    try {
      lines.push(name === 'revert' ? await revert(item, login) : await command(item, name, login));
      ok = true;
    } catch (err) {
      if (!(err instanceof RunnerError) || err.status === 0 || err.status >= 500) throw err;
      lines.push(`${envOf(item)}: not done: ${md(runnerMessage(err))}`);
    }
  }
  return { ok, reply: lines.join('\n') };
}

const envOf = (item: FoundDeploy) => `**${md(item.environment.name)}**`;
const describe = (item: FoundDeploy) => `${envOf(item)}: ${md(statusLine(item.deploy))} · deploy \`${md(item.deploy.id)}\``;

async function command(item: FoundDeploy, name: 'pause' | 'resume' | 'cutover' | 'abort', login: string): Promise<string> {
  const deploy = await item.client.command(item.deploy.id, name, login);
  const done = { pause: 'paused', resume: 'resumed', cutover: 'cut-over released', abort: 'abort requested' }[name];
  return `${envOf(item)}: ${done} · deploy \`${md(deploy.id)}\` is ${md(statusLine(deploy))}`;
}

async function revert(item: FoundDeploy, login: string): Promise<string> {
  const impact = await item.client.revertImpact(item.deploy.id);
  await item.client.command(item.deploy.id, 'revert', login);
  // Reopened for the reconciler: a final deploy moving again.
  await item.client.patchExternal(item.deploy.id, { set: { github: 'open' } });
  return [`${envOf(item)}: revert started · deploy \`${md(item.deploy.id)}\``, ...impact.map((l) => `- ${md(l)}`)].join('\n');
}

async function pullOf(request: CommandRequest) {
  return (await request.octokit.rest.pulls.get({ ...request.repo, pull_number: request.pr })).data;
}

async function replan(request: CommandRequest): Promise<CommandResult> {
  const pull = await pullOf(request);
  await publishPlans(request.octokit, request.repo, {
    number: pull.number, headSha: pull.head.sha, baseSha: pull.base.sha, baseRef: pull.base.ref, defaultBranch: request.defaultBranch, installation: request.installation,
  }, request.registry, request.sticky, request.log);
  return { ok: true, reply: `Planned again at ${pull.head.sha.slice(0, 12)}: see the comment above and the \`schemabot/plan\` check.` };
}
