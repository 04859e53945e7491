// Refreshes a helper table's index statistics. A table that is renamed or reopened takes its
// persistent statistics back, and a shadow table's may date from when it was empty: lookups of many
// keys then scan the whole table (seen: 300 ms per 1,000 keys on 1M rows), and a table that goes
// live with them gets bad query plans. InnoDB samples a few pages per index: milliseconds. (MySQL
// before 8.0.24 also evicts the table from its cache after ANALYZE; only this migration uses a helper.)
import type { RowDataPacket } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { mysqlErrno } from '../db/mysql-errors.ts';
import { quoteIdent } from '../db/quote.ts';

/**
 * `ANALYZE LOCAL TABLE` (not binlogged) on a connection of its own, its metadata-lock wait bounded.
 * Only an optimisation: a failure is returned as a message for the log, never thrown.
 */
export async function refreshStatistics(target: ConnectionTarget, table: string, lockWaitSeconds: number): Promise<string | undefined> {
  const failed = (why: string) => `could not refresh the index statistics of \`${table}\`: ${why}`;
  let conn;
  try {
    conn = await connect(target);
    await conn.query('SET SESSION lock_wait_timeout = ?', [lockWaitSeconds]);
    // MariaDB: with use_stat_tables = PREFERABLY or COMPLEMENTARY, ANALYZE would also read the whole table
    // for engine-independent statistics. MySQL has no such variable (1193).
    await conn.query("SET SESSION use_stat_tables = 'PREFERABLY_FOR_QUERIES'")
      .catch((err: unknown) => (mysqlErrno(err) === 1193 ? undefined : Promise.reject(err)));
    const [rows] = await conn.query<RowDataPacket[]>(`ANALYZE LOCAL TABLE ${quoteIdent(table)}`);
    const error = rows.find((r) => String(r.Msg_type).toLowerCase() === 'error');
    return error ? failed(String(error.Msg_text)) : undefined;
  } catch (err) {
    return failed((err as Error).message);
  } finally {
    await conn?.end().catch(() => undefined);
  }
}
