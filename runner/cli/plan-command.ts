import { Command } from 'commander';
import { parseDsn } from '../db/dsn.ts';
import { planSchema } from '../schema/planner.ts';
import { countBySeverity, renderPlanMarkdown } from '../schema/render-markdown.ts';

export function planCommand(): Command {
  return new Command('plan')
    .description('diff schemas/*.sql against the live database: exact DDL, lint findings, impact')
    .requiredOption('--dsn <dsn>', 'mysql://user:pass@host:port/database (read-only use; scratch schemas are created and dropped)')
    .option('--schema-dir <dir>', 'desired-state CREATE TABLE files', 'schemas')
    .option('--base-dir <dir>', "the base branch's schema files, to show what a pull request changes and detect drift")
    .option('--json', 'print the plan as JSON instead of Markdown')
    .action(async (opts: { dsn: string; schemaDir: string; baseDir?: string; json?: boolean }) => {
      const plan = await planSchema({ target: parseDsn(opts.dsn), schemaDir: opts.schemaDir, baseDir: opts.baseDir });
      process.stdout.write(opts.json ? `${JSON.stringify(plan, null, 2)}\n` : `${renderPlanMarkdown(plan)}\n`);
      // Errors (unloadable files, unverified DDL, error-level findings) fail the command, as a CI check should.
      if (countBySeverity(plan).error > 0) process.exitCode = 3;
    });
}
