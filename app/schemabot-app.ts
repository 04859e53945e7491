// The App's event handlers: each checks that the event is its business (returning early, and saying
// why in the log, when it is not), then makes one call into a module that does the work. Deploy
// progress is not pushed from here: the reconciler brings GitHub up to date with the runners, and
// handlers only wake it after they changed something.
import type { Context, Probot } from 'probot';
import { runCommand, parseCommand } from './comment-commands.ts';
import { RunnerError } from '../runner/client/runner-client.ts';
import { pressCutover } from './cutover-button.ts';
import { identitySigner } from './deploy-external.ts';
import { runnerMessage } from './failure-output.ts';
import { md } from './markdown.ts';
import { submitDeploys } from './deploy-submitter.ts';
import { meets, permissionOf } from './permissions.ts';
import { publishPlans } from './plan-publisher.ts';
import { answerProtectionRule } from './protection-rules.ts';
import { Reconciler } from './reconciler.ts';
import type { RunnerRegistry } from './runner-registry.ts';
import { StickyComments } from './sticky-comment.ts';

export interface ReconcileTuning {
  /** How often every runner's open deploys are compared with GitHub; default 5 s. */
  intervalMs?: number;
  /** At most one progress update per deploy this often (state changes go out at once); default 15 s. */
  progressIntervalMs?: number;
}

export interface SchemabotOptions {
  registry: RunnerRegistry;
  reconcile?: ReconcileTuning;
  /** The webhook secret: the sticky comments' signatures are derived from it. */
  webhookSecret: string;
}

type PullRequestContext = Context<'pull_request.closed'>;

export function createSchemabotApp(options: SchemabotOptions): { load(app: Probot): void; stop(): Promise<void> } {
  const { registry } = options;
  const sticky = new StickyComments(options.webhookSecret);
  const signer = identitySigner(options.webhookSecret);
  let reconciler: Reconciler | undefined;

  async function plan(context: Context<'pull_request' | 'check_run' | 'check_suite'>, pr: { number: number; head: { sha: string }; base: { sha: string; ref: string } }) {
    const { repository } = context.payload;
    const installation = 'installation' in context.payload ? context.payload.installation : undefined;
    if (!installation) return;
    await publishPlans(context.octokit, context.repo(), {
      number: pr.number, headSha: pr.head.sha, baseSha: pr.base.sha, baseRef: pr.base.ref, defaultBranch: repository.default_branch, installation: installation.id,
    }, registry, sticky, context.log);
  }

  async function pushed(context: Context<'pull_request.opened' | 'pull_request.synchronize' | 'pull_request.reopened'>): Promise<void> {
    // Planning costs API calls and runner time: only for events caused by people who may write here.
    const { sender, pull_request: pr } = context.payload;
    if (!meets(await permissionOf(context.octokit, context.repo(), sender.login), 'write')) {
      context.log.info({ pr: pr.number, login: sender.login }, 'pull request event by someone without write permission: planned only on /plan from a writer');
      return;
    }
    await plan(context, pr);
  }

  async function merged(context: PullRequestContext): Promise<void> {
    const { pull_request: pr, repository, installation } = context.payload;
    if (!pr.merged || !pr.merge_commit_sha || !installation) {
      context.log.info({ pr: pr.number }, 'closed without merging: nothing to deploy');
      return;
    }
    const submitted = await submitDeploys(context.octokit, context.repo(), {
      pr: pr.number, sha: pr.merge_commit_sha, baseRef: pr.base.ref, defaultBranch: repository.default_branch,
      installation: installation.id, actor: pr.merged_by?.login ?? context.payload.sender?.login ?? 'unknown',
    }, registry, signer, context.log);
    if (submitted.submitted) reconciler?.kick();
  }

  async function comment(context: Context<'issue_comment.created'>): Promise<void> {
    const { comment: posted, issue, repository, installation } = context.payload;
    const name = parseCommand(posted.body ?? '');
    if (!name || !issue.pull_request || !installation || context.isBot || posted.user?.type === 'Bot') return;
    const react = (content: 'eyes' | 'rocket' | 'confused') =>
      context.octokit.rest.reactions.createForIssueComment(context.repo({ comment_id: posted.id, content }));
    const login = posted.user!.login;
    const permission = await permissionOf(context.octokit, context.repo(), login);
    if (!meets(permission, 'write')) {
      // Anyone can comment on a public repository: a stranger's command costs one reaction, no reply.
      context.log.info({ login, role: permission.role, command: name }, 'comment command refused: needs write or above');
      await react('confused');
      return;
    }
    // GitHub answers 200 instead of 201 for a reaction that is already there: a redelivered comment, already handled.
    if ((await react('eyes')).status === 200) {
      context.log.info({ comment: posted.id, command: name }, 'comment command already handled (redelivery): skipped');
      return;
    }
    const result = await runCommand(name, {
      octokit: context.octokit, repo: context.repo(), pr: issue.number, login, permission,
      defaultBranch: repository.default_branch, installation: installation.id, registry, signer, sticky, log: context.log,
    }).catch((err: unknown) => {
      context.log.error({ err, command: name }, 'comment command failed');
      const why = err instanceof RunnerError ? runnerMessage(err) : 'schemabot hit an error (see its log)';
      return { ok: false, reply: `Not done: ${md(why)}. Try again later.` };
    });
    await react(result.ok ? 'rocket' : 'confused');
    await context.octokit.rest.issues.createComment(context.issue({ body: `> /${name}\n\n${result.reply}` }));
    if (result.ok) reconciler?.kick();
  }

  async function requestedAction(context: Context<'check_run.requested_action'>): Promise<void> {
    const { check_run: run, requested_action: action, sender, repository, installation } = context.payload;
    if (action?.identifier !== 'cutover' || !installation) return;
    const outcome = await pressCutover({
      octokit: context.octokit, repo: context.repo(), checkRun: run, login: sender.login, defaultBranch: repository.default_branch,
      installation: installation.id, registry, signer,
    });
    context.log.info({ login: sender.login, checkRun: run.id, outcome }, 'cut-over button pressed');
    if (outcome === 'released') reconciler?.kick();
  }

  async function rerequested(context: Context<'check_run.rerequested'>): Promise<void> {
    const { check_run: run, repository, installation, sender } = context.payload;
    const [kind, number, baseRef] = (run.external_id ?? '').split(':');
    if (kind === 'plan') {
      const { data: pull } = await context.octokit.rest.pulls.get(context.repo({ pull_number: Number(number) }));
      await plan(context, pull);
    } else if (kind === 'submit' && installation) {
      const submitted = await submitDeploys(context.octokit, context.repo(), {
        pr: Number(number), sha: run.head_sha, baseRef, defaultBranch: repository.default_branch, installation: installation.id, actor: sender.login,
      }, registry, signer, context.log);
      if (submitted.submitted) reconciler?.kick();
    }
  }

  async function protectionRule(context: Context<'deployment_protection_rule.requested'>): Promise<void> {
    const { deployment, deployment_callback_url: url, environment, repository, installation, sender } = context.payload;
    if (!deployment || !url || !environment || !installation) return;
    const verdict = await answerProtectionRule({
      octokit: context.octokit, repo: context.repo(), sha: deployment.sha, gate: { url, environment }, defaultBranch: repository.default_branch,
      installation: installation.id, actor: sender?.login ?? 'unknown', registry, signer, log: context.log,
    });
    context.log.info({ sha: deployment.sha, environment, verdict }, 'deployment protection rule answered');
    if (verdict === 'wait') reconciler?.kick();
  }

  return {
    load(app) {
      reconciler = new Reconciler({
        registry, signer, sticky, log: app.log, github: (installation) => app.auth(installation),
        intervalMs: options.reconcile?.intervalMs ?? 5_000, progressIntervalMs: options.reconcile?.progressIntervalMs ?? 15_000,
      });
      app.on(['pull_request.opened', 'pull_request.synchronize', 'pull_request.reopened'], pushed);
      app.on('pull_request.closed', merged);
      app.on('issue_comment.created', comment);
      app.on('check_run.requested_action', requestedAction);
      app.on('check_run.rerequested', rerequested);
      app.on('check_suite.rerequested', async (context) => {
        for (const pr of context.payload.check_suite.pull_requests) await plan(context, pr);
      });
      app.on('deployment_protection_rule.requested', protectionRule);
      app.on('installation', async (context) => context.log.info({ action: context.payload.action, installation: context.payload.installation.id }, 'installation changed'));
      reconciler.start();
    },
    async stop() {
      await reconciler?.stop();
    },
  };
}
