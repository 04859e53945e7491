import mysql, { type Connection, type ConnectionOptions } from 'mysql2/promise';
import type { ConnectionTarget } from './dsn.ts';

/**
 * Connection options that move row values without loss: big integers and DECIMAL as strings,
 * temporal values as strings, JSON as text. Every connection that reads or writes rows uses them.
 */
export function losslessOptions(target: ConnectionTarget): ConnectionOptions {
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    socketPath: target.socketPath,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    dateStrings: true,
    jsonStrings: true,
    timezone: 'Z',
    charset: 'utf8mb4_general_ci',
    multipleStatements: false,
  };
}

/**
 * A session in UTC with strict SQL mode: TIMESTAMP values round-trip byte-exact and any value that
 * would not fit a column raises an error instead of a warning.
 */
export async function connect(target: ConnectionTarget, options: { readCommitted?: boolean } = {}): Promise<Connection> {
  const conn = await mysql.createConnection(losslessOptions(target));
  // A postponed cut-over may wait for days: a server with a short global wait_timeout must not end
  // the engine's quiet connections meanwhile.
  await conn.query(
    "SET SESSION time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO', "
    + 'wait_timeout = GREATEST(@@session.wait_timeout, 28800)',
  );
  if (options.readCommitted) await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED');
  return conn;
}
