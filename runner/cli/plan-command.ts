// `schemabot plan`: the plan of a schema directory against a live database, as Markdown or JSON.
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
      await writeAll(opts.json ? `${JSON.stringify(plan, null, 2)}\n` : `${renderPlanMarkdown(plan)}\n`);
      // Errors (unloadable files, unverified DDL, error-level findings) fail the command, as a CI check should.
      if (countBySeverity(plan).error > 0) process.exitCode = 3;
    });
}

/**
 * Resolves once stdout has taken every byte: on a pipe, stdout is asynchronous, and the process exit
 * that follows the command (main.ts) would cut off what a slow reader has not read yet.
 */
function writeAll(text: string): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(text, (err) => (err ? reject(err) : resolve())));
}
