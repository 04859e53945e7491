/** The migration was refused before anything changed: the original table is untouched. */
export class MigrationRefused extends Error {
  override name = 'MigrationRefused';
}

/** The migration failed before cut-over: the original table is untouched, the shadow table dropped. */
export class MigrationFailed extends Error {
  override name = 'MigrationFailed';
}

/** The tables were swapped, but something reached the old table after the final drain: act now. */
export class CutOverAuditFailed extends Error {
  override name = 'CutOverAuditFailed';
}
