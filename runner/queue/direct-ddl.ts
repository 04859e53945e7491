// DDL that runs directly (CREATE TABLE, INSTANT / in-place ALTER, the RENAME of a dropped table) waits
// for the table's metadata lock. Behind a long transaction it would queue every later query on the
// table behind itself, so each attempt waits only briefly, and attempts are spread out with backoff.
import type { Connection } from 'mysql2/promise';
import { MigrationFailed } from '../engine/errors.ts';
import { isConnectionLoss, mysqlErrno } from '../db/mysql-errors.ts';

/** Seconds an attempt may wait for the lock: what writers may be queued behind it. */
const LOCK_WAIT_SECONDS = 2;
const ATTEMPTS = 12;
const MAX_PAUSE_SECONDS = 30;

export async function runWithLockRetries(conn: Connection, sql: string, signal: AbortSignal,
  onWait: (attempt: number, pauseSeconds: number) => Promise<void>): Promise<void> {
  await conn.query('SET SESSION lock_wait_timeout = ?', [LOCK_WAIT_SECONDS]);
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted) throw signal.reason;
    try {
      await conn.query(sql);
      return;
    } catch (err) {
      if (isConnectionLoss(err)) throw err;
      if (mysqlErrno(err) !== 1205) throw new MigrationFailed(`${sql.slice(0, 200)}: ${(err as Error).message}`);
      if (attempt >= ATTEMPTS) {
        throw new MigrationFailed(`gave up after ${ATTEMPTS} attempts to take the metadata lock for: ${sql.slice(0, 200)}`);
      }
      const pause = Math.min(MAX_PAUSE_SECONDS, 2 ** (attempt - 1));
      await onWait(attempt, pause);
      await new Promise((r) => setTimeout(r, pause * 1000));
    }
  }
}
