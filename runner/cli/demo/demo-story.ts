// The demo's story, told step by step through the local GitHub, as people on the pull request would
// live it: a developer opens a pull request that changes schemas/users.sql and the App comments the
// plan; a release manager merges it and the deploy runs under live writers, its check runs moving as
// the App posts them; the release manager presses Cut over; the on-call engineer comments `/revert`
// and the App says what that loses, then swaps back. A twin table that got every write in the same
// transaction proves at the end that none was lost. Anything that does not go as told throws.
import type { Connection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { commentEvent, mergePull, pullRequestEvent, requestedActionEvent } from '../../../app/local-github/webhook-events.ts';
import type { LocalGitHub } from '../../../app/local-github/local-github.ts';
import { connect } from '../../db/connect.ts';
import type { ConnectionTarget } from '../../db/dsn.ts';
import { WriteLoad } from '../../embedded/write-load.ts';
import { DEMO_TARGET, RUNNER_TOKEN_ENV, startDemoStack, type DemoPace, type DemoStack } from './demo-stack.ts';
import { plainText, watchCheckRuns } from './github-view.ts';
import { TwinTable } from './twin-table.ts';

export interface DemoStoryOptions {
  /** A database holding schemas/users.sql's `users` with ids 1..rows. */
  target: ConnectionTarget;
  rows: number;
  /** Where the runner keeps its deploys; `_schemabot` by default, as in a real install. */
  stateSchema?: string;
  writers: number;
  /** schemas/users.sql on main, and as the pull request changes it. */
  usersSql: { before: string; after: string };
  pace: DemoPace;
  /** How long the ready deploy waits for the release manager. */
  gateWaitMs: number;
  /** Longest wait for any one step. */
  stepTimeoutMs: number;
  out: (line: string) => void;
}

const PR = 1;

interface Story {
  options: DemoStoryOptions;
  stack: DemoStack;
  github: LocalGitHub;
  conn: Connection;
  say: (line: string) => void;
}

function repoConfig(runnerUrl: string): string {
  return `schemas:\n  - dir: schemas\n    environments:\n      - name: production\n        runner: ${runnerUrl}\n`
    + `        tokenEnv: ${RUNNER_TOKEN_ENV}\n        target: ${DEMO_TARGET}\n        cutover: gated\n`;
}

/** Quoted text, as a block under the step that produced it. */
function quote(say: (line: string) => void, markdown: string): void {
  for (const line of plainText(markdown).trim().split('\n')) say(`  │ ${line}`);
}

/** The parts of `users` the pull request changes, as they are now. */
async function usersShape(conn: Connection): Promise<string> {
  const [columns] = await conn.query<RowDataPacket[]>(`SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users' AND COLUMN_NAME IN ('name', 'balance', 'last_login_at') ORDER BY ORDINAL_POSITION`);
  const [index] = await conn.query<RowDataPacket[]>(`SELECT 1 FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users' AND INDEX_NAME = 'idx_status' LIMIT 1`);
  const present = columns.map((c) => `${c.name} ${c.type}`);
  if (!columns.some((c) => c.name === 'last_login_at')) present.push('no last_login_at');
  return [...present, index.length > 0 ? 'KEY idx_status' : 'no idx_status'].join(', ');
}

/** Waits for `check` on GitHub; a check run that failed or was cancelled on the way ends the story. */
function onGitHub<T>(story: Story, check: () => T, what: string): Promise<NonNullable<T>> {
  return story.github.waitFor(() => {
    const failed = story.github.checkRuns.find((r) => r.conclusion === 'failure' || r.conclusion === 'cancelled');
    if (failed) throw new Error(`${failed.name} ${failed.conclusion}: ${plainText(failed.output.title ?? '')}\n${plainText(failed.output.summary ?? '')}`);
    return check();
  }, what, story.options.stepTimeoutMs);
}

async function deliver(story: Story, what: string, event: string, payload: object): Promise<void> {
  const started = performance.now();
  const { status, text } = await story.github.deliver(event, payload);
  if (status !== 200) throw new Error(`the App answered ${what} with ${status}: ${text.slice(0, 300)}`);
  story.say(`  → signed ${event} webhook delivered: 200, handled in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

const conclusion = (story: Story, name: string, wanted: string) => () =>
  story.github.checkRunsNamed(name).find((r) => r.conclusion === wanted);

async function openPullRequest(story: Story): Promise<void> {
  const { github, say, options } = story;
  const base = github.commit({ '.github/schemabot.yml': repoConfig(story.stack.runnerUrl), 'schemas/users.sql': options.usersSql.before }, 'main');
  say(`acme/shop main: .github/schemabot.yml (schemas/ → environment production, the runner at ${story.stack.runnerUrl}, cut-over gated)`);
  say('                 and schemas/users.sql as the database has it');
  github.openPull(PR, base, github.commit({ ...github.filesAt(base), 'schemas/users.sql': options.usersSql.after }));
  say(`dev opens pull request #${PR}: schemas/users.sql widens name and balance, adds last_login_at and an index on status`);
  await deliver(story, 'the pull request', 'pull_request', pullRequestEvent('opened', github, PR));
  const comment = await onGitHub(story, () => github.commentsOn(PR).find((c) => c.user.type === 'Bot'), 'the plan comment');
  say(`the App's comment on #${PR} (one sticky comment, edited in place on every push):`);
  quote(say, comment.body);
}

/** Merges under the writers; the deploy's id once it waits for the release manager. */
async function mergeUnderWriters(story: Story, load: WriteLoad): Promise<string> {
  const { github, say } = story;
  await load.start();
  say(`${story.options.writers} writers start on users: updates, inserts, deletes (each also applied to the twin table, in the same transaction)`);
  const { sha, event } = mergePull(github, PR, 'release-manager');
  say(`release-manager merges #${PR} (merge commit ${sha.slice(0, 7)}); the deploy's check runs from here on, as the App posts them:`);
  await deliver(story, 'the merge', 'pull_request', event);
  const button = await onGitHub(story, conclusion(story, 'schemabot/cutover', 'action_required'), 'the Cut over button');
  return button.external_id!;
}

/** At the gate: the copy is done, the shadow table keeps applying the writers' changes until released. */
async function cutOver(story: Story, deployId: string): Promise<void> {
  const { github, say, options } = story;
  const applied = async () => (await story.stack.service.get(deployId)).migrations.find((m) => m.method === 'online')?.binlogRowsApplied ?? 0;
  const before = await applied();
  await new Promise((resolve) => setTimeout(resolve, options.gateWaitMs));
  say(`waiting for a release manager (${options.gateWaitMs / 1000} s here): the shadow table kept applying writes, `
    + `${(await applied() - before).toLocaleString('en-US')} binlog row changes meanwhile`);
  say('release-manager presses "Cut over" on the schemabot/cutover check run');
  const button = github.checkRunsNamed('schemabot/cutover')[0];
  await deliver(story, 'the Cut over button', 'check_run', requestedActionEvent(github, button, 'release-manager'));
  await onGitHub(story, conclusion(story, 'schemabot/cutover', 'success'), 'the cut-over');
  await onGitHub(story, conclusion(story, 'schemabot/deploy', 'success'), 'the deploy check run to succeed');
  say(`users now: ${await usersShape(story.conn)}`);
  const [used] = await story.conn.query<ResultSetHeader>('UPDATE users SET last_login_at = NOW() WHERE id <= 100');
  say(`the new code starts using the new column: last_login_at set on ${used.affectedRows} users`);
}

async function revert(story: Story): Promise<void> {
  const { github, say } = story;
  say('oncall comments "/revert" on the pull request');
  const { payload, commentId } = commentEvent(github, PR, '/revert\ncheckout is slower since the deploy', 'oncall');
  const repliesBefore = github.commentsOn(PR).length;
  await deliver(story, '/revert', 'issue_comment', payload);
  const reply = github.commentsOn(PR).slice(repliesBefore).find((c) => c.user.type === 'Bot');
  if (!reply) throw new Error('the App did not reply to /revert');
  const reactions = github.comments.find((c) => c.id === commentId)!.reactions;
  say(`the App reacts ${reactions.map((r) => ({ eyes: '👀', rocket: '🚀', confused: '😕' })[r] ?? r).join(' ')} and replies:`);
  quote(say, reply.body);
  if (!reactions.includes('rocket')) throw new Error('the App refused /revert');
  await onGitHub(story, conclusion(story, 'schemabot/revert', 'success'), 'the revert');
}

/** With the writers stopped: the old shape is back, and users equals its twin row for row. */
async function checkNoWriteLost(story: Story, load: WriteLoad, twin: TwinTable): Promise<void> {
  const { say, github, conn } = story;
  const stats = await load.stop();
  say(`writers stopped: ${stats.operations.toLocaleString('en-US')} writes, ${stats.errors} errors, longest single write ${stats.longestStallMs.toFixed(0)} ms`
    + ' (timed in this process, beside the runner and the App; npm run bench times writers in a process of their own)');
  say(`users now: ${await usersShape(conn)}`);
  const { rows, twinRows, differing } = await twin.compare(conn);
  const same = rows === twinRows && differing === 0;
  say(`users ${rows.toLocaleString('en-US')} rows, its twin ${twinRows.toLocaleString('en-US')}; rows that differ or are missing: ${differing}: `
    + `${same ? 'no write was lost' : 'MISMATCH'}`);
  const deployment = github.deployments[0];
  say(`GitHub deployment ${deployment.environment}: ${deployment.statuses.map((s) => s.state).join(' → ')}`);
  const status = /\*\*production\*\*: [^\n]*/.exec(github.commentsOn(PR).find((c) => c.user.type === 'Bot')?.body ?? '')?.[0];
  say(`the sticky comment now says: ${plainText(status ?? '(no status line)')}`);
  if (stats.errors > 0) throw new Error(`writers saw ${stats.errors} errors, first: ${stats.firstError}`);
  if (!same) throw new Error(`users (${rows} rows) and its twin (${twinRows} rows) differ in ${differing} row(s)`);
}

export async function runDemoStory(options: DemoStoryOptions): Promise<void> {
  const started = performance.now();
  const say = (line: string) => options.out(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  const conn = await connect(options.target);
  const twin = new TwinTable(`${options.target.database}_twin`);
  let stack: DemoStack | undefined;
  let load: WriteLoad | undefined;
  let unwatch = () => {};
  try {
    await twin.create(conn);
    say(`twin table ${twin.name}: a copy of users, out of the deploy's reach`);
    stack = await startDemoStack(options.target, options.stateSchema ?? '_schemabot', options.pace);
    say(`runner (worker + HTTP API) at ${stack.runnerUrl}; local GitHub at ${stack.github.url} with the App installed on acme/shop; `
      + `the App (Probot) at ${stack.app.url}`);
    say(`(the App checks the runner every ${options.pace.reconcileMs / 1000} s and posts progress every ${options.pace.progressMs / 1000} s here; `
      + '5 s and 15 s in production)');
    const story: Story = { options, stack, github: stack.github, conn, say };
    stack.github.permissions.set('dev', 'write').set('release-manager', 'maintain').set('oncall', 'maintain');
    say('people on acme/shop: dev (write), release-manager and oncall (maintain: they may cut over and revert)');
    unwatch = watchCheckRuns(stack.github, (line) => say(`  check run ${line}`));
    await openPullRequest(story);
    load = new WriteLoad(options.target, options.writers, twin.mirroredWrites(options.rows), 2);
    const deployId = await mergeUnderWriters(story, load);
    await cutOver(story, deployId);
    await revert(story);
    await checkNoWriteLost(story, load, twin);
    load = undefined;
  } finally {
    unwatch();
    await load?.stop();
    await stack?.close();
    await conn.end().catch(() => undefined);
  }
}
