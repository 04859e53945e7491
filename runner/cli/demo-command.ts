import { Command } from 'commander';
import { connect } from '../db/connect.ts';
import { startEmbeddedServer } from '../embedded/mariadb.ts';
import { createSampleDatabase, usersWriteMix } from '../embedded/sample-data.ts';
import { WriteLoad } from '../embedded/write-load.ts';
import { runOnlineMigration } from '../engine/online-migration.ts';
import { stderrProgress } from '../engine/progress.ts';

const DEMO_ALTER = 'ADD COLUMN last_login_at DATETIME NULL, MODIFY name VARCHAR(200) NOT NULL, ADD INDEX idx_status (status)';

export function demoCommand(): Command {
  return new Command('demo')
    .description('end to end on a throwaway local MariaDB: sample data, live writes, online migration, cut-over')
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

        const load = new WriteLoad(target, opts.writers, usersWriteMix(opts.rows), 2);
        await load.start();
        out(`${opts.writers} writers running; migrating: ALTER TABLE users ${DEMO_ALTER}`);
        const result = await runOnlineMigration({ target, table: 'users', alter: DEMO_ALTER, progress: stderrProgress() });
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
