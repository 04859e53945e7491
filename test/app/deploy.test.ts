// Merge → deploy: the merged pull request becomes one deploy on the runner (a redelivered webhook does
// not start a second), which runs under concurrent writes while the reconciler keeps the
// `schemabot/deploy` check run, the GitHub deployment and the sticky comment up to date, ending green
// with every write kept.
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { statusLine } from '../../app/deploy-progress.ts';
import { TABLE_SQL, WIDENED } from '../support/deploy-fixture.ts';
import { mergePull, pullRequestEvent } from '../../app/local-github/webhook-events.ts';
import { eventually, repoConfig, useDeployStack } from './app-harness.ts';

// The hold takes effect at the runner's next throttle check (up to 250 ms later): a one-thread copy of
// five rows a chunk makes each step of the held copy a few percent.
const ROWS = 20_000;
const stack = useDeployStack('deploy', ROWS, 2, { chunkSize: 5, copyThreads: 1 });

/** Rows the copy has committed, from its checkpoint (written with each chunk). */
async function copiedRows(): Promise<number> {
  const [rows] = await stack.fx.conn.query<RowDataPacket[]>(`SELECT rows_copied FROM \`${stack.stateSchema}\`.checkpoints WHERE stream = 'copy'`);
  return rows.length > 0 ? Number(rows[0].rows_copied) : 0;
}

/** Lets the held copy copy more rows, holds it again, and waits for GitHub to show it held there. */
async function stepCopy(id: string): Promise<void> {
  const before = await copiedRows();
  await stack.hold.set(false);
  // At least 2% more, so that every step shows another percentage.
  await eventually(async () => (await copiedRows()) >= before + ROWS / 50, 'more rows copied');
  await stack.hold.set(true);
  // The runner stores progress about once a second: wait until it is stored held, past the step.
  await eventually(async () => {
    const deploy = await stack.runner.service.get(id);
    const line = statusLine(deploy);
    return deploy.migrations[0].rowsCopied >= before + ROWS / 50 && /throttled/.test(line)
      && stack.harness.github.checkRunsNamed('schemabot/deploy')[0]?.output.title === line;
  }, 'GitHub showing the held copy');
}

describe('merge → deploy', () => {
  it('submits one deploy, reports its progress on one check run and a deployment, and ends green with no write lost', async () => {
    const { github } = stack.harness;
    const base = github.commit({
      '.github/schemabot.yml': repoConfig(stack.runner.url), 'schemas/t.sql': `${TABLE_SQL('t')};\n`, 'schemas/t_twin.sql': `${TABLE_SQL('t_twin')};\n`,
    }, 'main');
    const head = github.commit({ ...github.filesAt(base), 'schemas/t.sql': `${WIDENED('t')};\n` });
    github.openPull(5, base, head);
    expect((await stack.harness.deliver('pull_request', pullRequestEvent('opened', github, 5))).status).toBe(200);

    const { sha, event } = mergePull(github, 5, 'rel-manager');
    const delivery = 'merge-delivery-1';
    expect((await stack.harness.deliver('pull_request', event, { id: delivery })).status).toBe(200);
    // GitHub redelivers with the same delivery id; a second submit must find the first deploy.
    expect((await stack.harness.deliver('pull_request', event, { id: delivery })).status).toBe(200);

    const deploys = await stack.runner.service.list({});
    expect(deploys).toHaveLength(1);
    expect(deploys[0]).toMatchObject({
      submittedBy: 'rel-manager via github-app', cutover: 'auto',
      external: { repo: 'acme/shop', pr: 5, sha, installation: 77, environment: 'production' },
    });

    const id = deploys[0].id;
    const held = await eventually(() => github.checkRunsNamed('schemabot/deploy').find((r) => /throttled/.test(r.output.title ?? '')), 'the held copy on GitHub');
    expect(held.output.summary).toMatch(/\| t \| online copy \| copying \|/);
    for (let step = 0; step < 3; step++) await stepCopy(id);
    await stack.hold.set(false);
    const run = await eventually(() => github.checkRunsNamed('schemabot/deploy').find((r) => r.conclusion), 'the deploy check run to complete', 120_000);
    expect(github.checkRunsNamed('schemabot/deploy')).toHaveLength(1);
    expect(run).toMatchObject({ head_sha: sha, conclusion: 'success', external_id: id });
    const progress = run.history.filter((h) => h.status === 'in_progress').map((h) => h.title);
    const percents = progress.map((t) => Number(/copying (\d+)%/.exec(t ?? '')?.[1] ?? -1)).filter((p) => p >= 0);
    expect(new Set(percents).size).toBeGreaterThanOrEqual(3);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect(run.output.summary).toMatch(/\| t \| online copy \| complete \|/);

    const deployment = await eventually(() => github.deployments.find((d) => d.statuses.at(-1)?.state === 'success'), 'the deployment to succeed');
    expect(github.deployments).toHaveLength(1);
    expect(deployment).toMatchObject({ ref: sha, environment: 'schema/production' });
    const states = deployment.statuses.map((s) => s.state);
    expect(states.at(-1)).toBe('success');
    expect(states).toContain('in_progress');
    expect(states.filter((s, i) => s !== states[i - 1])).toEqual(['queued', 'in_progress', 'success'].filter((s) => states.includes(s)));

    const sticky = await eventually(() => github.commentsOn(5).find((c) => c.body.includes('**production**: complete')), 'the comment status');
    expect(github.commentsOn(5)).toHaveLength(1);
    expect(sticky.body).toContain('ALTER TABLE `t`');
    expect(sticky.body).toMatch(/What <code>\/revert<\/code> would do now/);
    await eventually(async () => (await stack.runner.service.get(id)).external.github === 'final', 'the deploy marked final');

    const result = await stack.fx.compare();
    expect(result.definitions[0]).toBe(result.definitions[1]);
    expect(result.rows[0]).toEqual(result.rows[1]);
  });
});
