import type { Connection } from 'mysql2/promise';
import { inject } from 'vitest';
import { connect } from '../../runner/db/connect.ts';
import { parseDsn, type ConnectionTarget } from '../../runner/db/dsn.ts';

let counter = 0;

export function serverDsn(database: string): string {
  return `mysql://root@127.0.0.1:${inject('mariadbPort')}/${database}`;
}

/** A new empty database on the shared test server, and a connection to it. */
export async function freshDatabase(prefix = 'test'): Promise<{ target: ConnectionTarget; conn: Connection; dsn: string }> {
  const name = `${prefix}_${process.pid}_${++counter}`;
  const admin = await connect(parseDsn(serverDsn('mysql')));
  await admin.query(`CREATE DATABASE \`${name}\``);
  // Keep the shared server's binlog small between heavy tests.
  await admin.query('FLUSH BINARY LOGS');
  await admin.query('PURGE BINARY LOGS BEFORE NOW()').catch(() => undefined);
  await admin.end();
  const dsn = serverDsn(name);
  const target = parseDsn(dsn);
  return { target, conn: await connect(target), dsn };
}
