// Named server and client errors the engine branches on (never on message text, except where the
// server offers nothing better).
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

/** The index a duplicate-key error (1062) names; MariaDB says 'uk', MySQL 8 'table.uk'. */
export function duplicateKeyName(err: unknown): string | undefined {
  if (mysqlErrno(err) !== 1062) return undefined;
  return /for key '(?:[^'.]*\.)?([^']+)'/.exec(err instanceof Error ? err.message : '')?.[1];
}

/**
 * A duplicate on the shared key itself: the copy and the applier wrote the same row at once (READ
 * COMMITTED takes no gap locks). Retrying resolves it.
 */
export function isSharedKeyRace(err: unknown, sharedIndex: string): boolean {
  return duplicateKeyName(err) === sharedIndex;
}

/** The server went away or restarted (1053 shutdown in progress, 1927 connection killed, 2006/2013 lost). */
const CONNECTION_ERRNOS = new Set([1053, 1927, 2006, 2013]);
const CONNECTION_CODES = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT',
  'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED']);

/** A lost connection is no verdict on the migration: it resumes once the server is back. */
export function isConnectionLoss(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, fatal } = err as { code?: unknown; fatal?: unknown };
  const errno = mysqlErrno(err);
  return (errno !== undefined && CONNECTION_ERRNOS.has(errno)) || CONNECTION_CODES.has(String(code))
    || (fatal === true && errno === undefined)
    || /closed state|connection (?:is )?(?:lost|closed|unavailable)/i.test((err as Error).message ?? '');
}
