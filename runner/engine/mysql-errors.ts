export function mysqlErrno(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null && 'errno' in err ? Number((err as { errno: unknown }).errno) : undefined;
}

/** Deadlock and lock-wait timeout: the transaction was rolled back and may simply be retried. */
export function isRetryable(err: unknown): boolean {
  const errno = mysqlErrno(err);
  return errno === 1213 || errno === 1205;
}

/** Errors raised by strict mode when a value does not fit a column's new definition. */
const DATA_ERRORS = new Set([1048, 1101, 1264, 1265, 1292, 1366, 1367, 1406, 1690, 4025, 3819]);

export function isDataError(err: unknown): boolean {
  const errno = mysqlErrno(err);
  return errno !== undefined && DATA_ERRORS.has(errno);
}

/**
 * A duplicate on the shared key itself: the copy and the applier wrote the same row at once (READ
 * COMMITTED takes no gap locks). Retrying resolves it; a duplicate on any other key is about data.
 */
export function isSharedKeyRace(err: unknown, sharedIndex: string): boolean {
  if (mysqlErrno(err) !== 1062) return false;
  // MariaDB names the index 'uk', MySQL 8 'table.uk'.
  const m = /for key '(?:[^'.]*\.)?([^']+)'/.exec(err instanceof Error ? err.message : '');
  return m?.[1] === sharedIndex;
}
