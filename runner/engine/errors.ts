import { isConnectionLoss } from '../db/mysql-errors.ts';

/** The migration was refused before anything changed: the original table is untouched. */
export class MigrationRefused extends Error {
  override name = 'MigrationRefused';
}

/** The migration failed before cut-over: the original table is untouched, the shadow table dropped. */
export class MigrationFailed extends Error {
  override name = 'MigrationFailed';
}

/** A failure that retrying cannot change (the data or the table itself): the cut-over stops trying. */
export class NotRetryable extends MigrationFailed {
  override name = 'NotRetryable';
}

/** The tables were swapped, but something reached the old table after the final drain: act now. */
export class CutOverAuditFailed extends Error {
  override name = 'CutOverAuditFailed';
}

/**
 * The migration stopped without a verdict (connection or server lost, lease taken over, runner
 * stopping): nothing is wrong with the change, its helper tables and checkpoints are kept, and it
 * resumes from its last checkpoint.
 */
export class MigrationInterrupted extends Error {
  override name = 'MigrationInterrupted';
}

/** Not a verdict on the migration: it stopped (lost connection, lease, runner) and resumes later. */
export function isInterruption(err: unknown): boolean {
  return err instanceof MigrationInterrupted || isConnectionLoss(err);
}
