export interface ConnectionTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  socketPath?: string;
}

/** Parses `mysql://user:pass@host:port/db` (also `mariadb://`; `?socket=/path` for a unix socket). */
export function parseDsn(dsn: string): ConnectionTarget {
  let url: URL;
  try {
    url = new URL(dsn);
  } catch {
    throw new Error(`invalid DSN "${redactDsn(dsn)}": expected mysql://user:pass@host:port/database (a password with / # ? @ must be percent-encoded)`);
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    throw new Error(`invalid DSN scheme "${url.protocol}": expected mysql://`);
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new Error(`DSN "${redactDsn(dsn)}" names no database: add /database`);
  return {
    host: url.hostname || '127.0.0.1',
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username || 'root'),
    password: decodeURIComponent(url.password),
    database,
    socketPath: url.searchParams.get('socket') ?? undefined,
  };
}

/** The DSN without its password, however the password is spelled (it may hold `/`, `#` or `@`). */
export function redactDsn(dsn: string): string {
  return dsn.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:).*@/i, '$1***@');
}
