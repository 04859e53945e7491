import { Command } from 'commander';
import { CutOverAuditFailed, MigrationFailed, MigrationRefused } from '../engine/errors.ts';
import { demoCommand } from './demo-command.ts';
import { migrateCommand } from './migrate-command.ts';
import { planCommand } from './plan-command.ts';

const program = new Command('schemabot')
  .description('PR-driven online schema changes for MySQL and MariaDB')
  .addCommand(migrateCommand())
  .addCommand(planCommand())
  .addCommand(demoCommand());

try {
  await program.parseAsync(process.argv);
  process.exit(process.exitCode ?? 0);
} catch (err) {
  const message = (err as Error).message.replace(/\s+/g, ' ');
  if (err instanceof MigrationRefused) {
    process.stderr.write(`schemabot: refused: ${message} (the table is untouched)\n`);
    process.exit(2);
  }
  if (err instanceof CutOverAuditFailed) {
    process.stderr.write(`schemabot: cut over, but: ${message}\n`);
    process.exit(4);
  }
  if (err instanceof MigrationFailed) {
    process.stderr.write(`schemabot: failed: ${message} (the original table is untouched)\n`);
    process.exit(1);
  }
  process.stderr.write(`schemabot: error: ${message}\n`);
  process.exit(1);
}
