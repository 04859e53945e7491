import { Command } from 'commander';
import { CutOverAuditFailed, MigrationFailed, MigrationInterrupted, MigrationRefused } from '../engine/errors.ts';
import { WrongState } from '../queue/deploy-model.ts';
import { applyCommand, deployControlCommand, statusCommand } from './deploy-commands.ts';
import { demoCommand } from './demo-command.ts';
import { migrateCommand } from './migrate-command.ts';
import { planCommand } from './plan-command.ts';
import { serveCommand } from './serve-command.ts';

const program = new Command('schemabot')
  .description('PR-driven online schema changes for MySQL and MariaDB')
  .addCommand(migrateCommand())
  .addCommand(planCommand())
  .addCommand(demoCommand())
  .addCommand(serveCommand())
  .addCommand(applyCommand())
  .addCommand(statusCommand())
  .addCommand(deployControlCommand('cutover'))
  .addCommand(deployControlCommand('pause'))
  .addCommand(deployControlCommand('resume'))
  .addCommand(deployControlCommand('abort'))
  .addCommand(deployControlCommand('revert'));

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
  if (err instanceof MigrationFailed || err instanceof MigrationInterrupted) {
    process.stderr.write(`schemabot: failed: ${message} (the original table is untouched)\n`);
    process.exit(1);
  }
  if (err instanceof WrongState) {
    process.stderr.write(`schemabot: not now: ${message} (the deploy is ${err.current})\n`);
    process.exit(1);
  }
  process.stderr.write(`schemabot: error: ${message}\n`);
  process.exit(1);
}
