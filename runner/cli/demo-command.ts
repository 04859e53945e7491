// `schemabot demo`: the whole story on this machine, in about a minute. A throwaway MariaDB with the
// sample `users` table, the runner, a local GitHub and the App: a pull request changes
// schemas/users.sql, the App comments the plan, the merge deploys it under live writers with the check
// runs moving, a release manager cuts over, `/revert` swaps back, and no write is lost (see
// demo/demo-story.ts). Exit 0 only when all of that happened.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import { startEmbeddedServer } from '../embedded/mariadb.ts';
import { createSampleDatabase } from '../embedded/sample-data.ts';
import { FINAL_STATES, type DeployView, type RunnerService } from '../queue/deploy-model.ts';
import { runDemoStory } from './demo/demo-story.ts';

const USERS_SQL = new URL('../../schemas/users.sql', import.meta.url);

/**
 * The pull request of the demo: schemas/users.sql with a wider name and balance (a DECIMAL change
 * needs a table copy, so this runs as an online migration), a new column and an index.
 */
export function desiredUsers(): string {
  return readFileSync(USERS_SQL, 'utf8')
    .replace('name VARCHAR(100) NOT NULL', 'name VARCHAR(200) NOT NULL')
    .replace('balance DECIMAL(12,2)', 'balance DECIMAL(14,2)')
    .replace('  PRIMARY KEY (id),', '  last_login_at DATETIME NULL,\n  PRIMARY KEY (id),')
    .replace('  UNIQUE KEY uk_email (email)', '  UNIQUE KEY uk_email (email),\n  KEY idx_status (status)');
}

/**
 * Polls a deploy until `until(view)`, handing every view to `onView` (the runner benchmark follows its
 * deploys with it). A deploy that ends (failed, aborted, or a revert that failed and left it as it
 * was) without getting there throws its error.
 */
export async function followDeploy(service: RunnerService, id: string, until: (deploy: DeployView) => boolean,
  onView: (deploy: DeployView) => void = () => {}, pollMs = 250): Promise<DeployView> {
  for (;;) {
    const deploy = await service.get(id);
    onView(deploy);
    if (until(deploy)) return deploy;
    if (FINAL_STATES.includes(deploy.state) && (deploy.error || deploy.state === 'failed' || deploy.state === 'aborted')) {
      throw new Error(`deploy ${id} is ${deploy.state}: ${deploy.error ?? 'no reason recorded'}`);
    }
    await sleep(pollMs);
  }
}

const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

export function demoCommand(): Command {
  return new Command('demo')
    .description('the whole story on this machine: a local GitHub, the App, the runner and a throwaway MariaDB; '
      + 'a pull request planned, merged and deployed under live writes, cut over, reverted')
    .option('--rows <n>', 'rows in the sample users table', (v) => Number(v), 2_000_000)
    .option('--writers <n>', 'concurrent writers during the deploy', (v) => Number(v), 4)
    .action(async (opts: { rows: number; writers: number }) => {
      const out = (line: string) => process.stdout.write(`${line}\n`);
      const started = performance.now();
      out('schemabot demo: a pull request that changes schemas/users.sql, from its plan to its revert, on this machine: a throwaway\n'
        + 'MariaDB, the runner, the GitHub App and a local GitHub (in memory), talking over HTTP as they do in production.\n');
      out('starting a throwaway MariaDB server…');
      const server = await startEmbeddedServer();
      try {
        const seeding = performance.now();
        const target = await createSampleDatabase(server, 'demo', opts.rows);
        out(`sample table users (schemas/users.sql): ${opts.rows.toLocaleString('en-US')} rows in ${seconds(seeding)}\n`);
        const story = performance.now();
        await runDemoStory({
          target, rows: opts.rows, writers: opts.writers,
          usersSql: { before: readFileSync(USERS_SQL, 'utf8'), after: desiredUsers() },
          pace: { reconcileMs: 500, progressMs: 1_500 }, gateWaitMs: 3_000, stepTimeoutMs: 300_000, out,
        });
        out(`\ndone: the story took ${seconds(story)}, ${seconds(started)} in all`);
      } finally {
        await server.stop();
      }
    });
}
