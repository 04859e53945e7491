import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { connect } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { startEmbeddedServer } from '../embedded/mariadb.ts';
import { createSampleDatabase, usersWriteMix } from '../embedded/sample-data.ts';
import { WriteLoad } from '../embedded/write-load.ts';
import { runOnlineMigration } from '../engine/online-migration.ts';
import { stderrProgress } from '../engine/progress.ts';
import { planSchema } from '../schema/planner.ts';
import { renderPlanMarkdown } from '../schema/render-markdown.ts';

/**
 * The pull request of the demo: schemas/users.sql with a wider name and balance (a DECIMAL change
 * needs a table copy, so this runs as an online migration), a new column and an index.
 */
function desiredUsers(): string {
  return readFileSync(new URL('../../schemas/users.sql', import.meta.url), 'utf8')
    .replace('name VARCHAR(100) NOT NULL', 'name VARCHAR(200) NOT NULL')
    .replace('balance DECIMAL(12,2)', 'balance DECIMAL(14,2)')
    .replace('  PRIMARY KEY (id),', '  last_login_at DATETIME NULL,\n  PRIMARY KEY (id),')
    .replace('  UNIQUE KEY uk_email (email)', '  UNIQUE KEY uk_email (email),\n  KEY idx_status (status)');
}

/** Plans the demo change like the GitHub App would, and returns the ALTER clauses to run online. */
async function planDemoChange(target: ConnectionTarget, out: (line: string) => void): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'schemabot-demo-'));
  try {
    writeFileSync(join(dir, 'users.sql'), desiredUsers());
    const plan = await planSchema({ target, schemaDir: dir, root: dir });
    out(renderPlanMarkdown(plan));
    const [change] = plan.changes;
    if (plan.changes.length !== 1 || change.alters?.length !== 1 || change.error) throw new Error('the demo plan is not a single ALTER');
    return change.alters[0];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function demoCommand(): Command {
  return new Command('demo')
    .description('end to end on a throwaway local MariaDB: sample data, a planned change, live writes, online migration, cut-over')
    .option('--rows <n>', 'rows in the sample users table', (v) => Number(v), 200_000)
    .option('--writers <n>', 'concurrent writers during the migration', (v) => Number(v), 4)
    .action(async (opts: { rows: number; writers: number }) => {
      const out = (line: string) => process.stdout.write(`${line}\n`);
      out('starting a throwaway MariaDB server…');
      const server = await startEmbeddedServer();
      try {
        out(`creating schemas/users.sql with ${opts.rows} rows…`);
        const target = await createSampleDatabase(server, 'demo', opts.rows);
        const conn = await connect(target);
        out('planning the change to schemas/users.sql (what the pull request comment shows):\n');
        const alter = await planDemoChange(target, out);

        const load = new WriteLoad(target, opts.writers, usersWriteMix(opts.rows), 2);
        await load.start();
        out(`${opts.writers} writers running; migrating online: ALTER TABLE users ${alter}`);
        const result = await runOnlineMigration({ target, table: 'users', alter, progress: stderrProgress() });
        await new Promise((r) => setTimeout(r, 500));
        const stats = await load.stop();

        const [[live]] = await conn.query<any[]>('SELECT COUNT(*) AS n FROM users');
        const [[column]] = await conn.query<any[]>(
          "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'demo' AND TABLE_NAME = 'users' AND COLUMN_NAME = 'last_login_at'");
        await conn.end();
        out('');
        out('what happened:');
        out(`  rows copied:               ${result.rowsCopied}`);
        out(`  binlog row changes applied: ${result.binlogRowsApplied}`);
        out(`  verified before cut-over:  ${result.verifiedRows} rows, checksums match`);
        out(`  cut-over stall (lock held): ${result.cutOverStallMs.toFixed(1)} ms`);
        out(`  writers: ${stats.operations} writes, ${stats.errors} errors, longest single write ${stats.longestStallMs.toFixed(1)} ms`);
        out(`  users now has last_login_at: ${Number(column.n) === 1 ? 'yes' : 'NO'}; ${live.n} rows; original kept as ${result.oldTable}`);
        out(`  total ${result.durationSeconds.toFixed(1)} s (copy ${result.copySeconds.toFixed(1)} s)`);
        if (stats.errors > 0) throw new Error(`writers saw ${stats.errors} errors, first: ${stats.firstError}`);
      } finally {
        await server.stop();
      }
    });
}
