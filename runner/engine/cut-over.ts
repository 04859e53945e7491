// Atomic cut-over with the sentry-table method (MariaDB refuses RENAME under LOCK TABLES; the
// method works on MySQL too). A holds `LOCK TABLES T WRITE, _T_gho WRITE, _T_old WRITE` where
// `_T_old` is an empty sentry, and drains the last binlog changes itself (no other session may read T
// now); B queues `RENAME TABLE T TO _T_old, _T_gho TO T`. Once B waits, A drops the sentry and
// unlocks: the queued RENAME wins over queued DML. If A dies or gives up while the sentry exists,
// B's RENAME fails (table exists) and writes continue on T.
import { randomUUID } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { quoteIdent } from '../db/quote.ts';
import type { BinlogApplier } from './binlog-applier.ts';
import { writeMarker } from './changelog.ts';
import { MigrationFailed } from './errors.ts';
import { showCreateTable } from './table-info.ts';
import type { TableNames } from './table-names.ts';

const SENTRY_COMMENT = 'schemabot cut-over sentry';

export interface CutOverOptions {
  /** How long A waits for the write lock, and the longest the applier may take to drain under it. */
  lockWaitSeconds: number;
  drainTimeoutMs: number;
}

export interface CutOverResult {
  /** Time writers were blocked: from holding the lock to the rename completing. */
  stallMs: number;
}

function autoIncrementOf(createTable: string): number | undefined {
  const m = /\bAUTO_INCREMENT=(\d+)/.exec(createTable);
  return m ? Number(m[1]) : undefined;
}

async function dropSentry(ctrl: Connection, names: TableNames): Promise<void> {
  const [rows] = await ctrl.query<RowDataPacket[]>(
    'SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [names.schema, names.old]);
  if (rows.length > 0 && rows[0].TABLE_COMMENT === SENTRY_COMMENT) await ctrl.query(`DROP TABLE ${quoteIdent(names.old)}`);
}

async function waitUntilRenameQueued(ctrl: Connection, renameThread: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [rows] = await ctrl.query<RowDataPacket[]>(
      'SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE ?', [renameThread, 'RENAME TABLE%']);
    if (rows.length > 0 && /metadata lock/i.test(String(rows[0].STATE))) return;
    if (Date.now() > deadline) throw new MigrationFailed('the cut-over RENAME was not seen waiting for the table lock');
    await new Promise((r) => setTimeout(r, 2));
  }
}

export async function cutOver(target: ConnectionTarget, ctrl: Connection, names: TableNames, applier: BinlogApplier,
  options: CutOverOptions): Promise<CutOverResult> {
  const t = quoteIdent(names.original);
  const old = quoteIdent(names.old);
  const lockConn = await connect(target);
  const renameConn = await connect(target);
  let rename: Promise<unknown> | undefined;
  const shadow = quoteIdent(names.shadow);
  let locked = false;
  let applierHeld = false;
  try {
    await ctrl.query(`CREATE TABLE ${old} (id INT) COMMENT='${SENTRY_COMMENT}'`);
    await lockConn.query('SET SESSION lock_wait_timeout = ?', [options.lockWaitSeconds]);
    await applier.hold();
    applierHeld = true;
    await lockConn.query(`LOCK TABLES ${t} WRITE, ${shadow} WRITE, ${old} WRITE`);
    locked = true;
    const lockedAt = performance.now();

    const token = randomUUID();
    applier.release({ conn: lockConn, stopAfter: token });
    await writeMarker(ctrl, names, token);
    await applier.waitForMarker(token, options.drainTimeoutMs);

    // The shadow table's counter only knows the rows it holds; never let it reuse an id.
    const originalAi = autoIncrementOf(await showCreateTable(lockConn, names.original));
    const shadowAi = autoIncrementOf(await showCreateTable(lockConn, names.shadow));
    if (originalAi !== undefined && originalAi > (shadowAi ?? 1)) {
      await lockConn.query(`ALTER TABLE ${shadow} AUTO_INCREMENT = ${originalAi}`);
    }

    const [[{ id: renameThread }]] = await renameConn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    await renameConn.query('SET SESSION lock_wait_timeout = ?', [options.lockWaitSeconds * 3]);
    rename = renameConn.query(`RENAME TABLE ${t} TO ${old}, ${shadow} TO ${t}`);
    rename.catch(() => undefined);
    await waitUntilRenameQueued(ctrl, Number(renameThread), 5_000);

    await lockConn.query(`DROP TABLE ${old}`);
    await lockConn.query('UNLOCK TABLES');
    locked = false;
    await rename;
    return { stallMs: performance.now() - lockedAt };
  } catch (err) {
    // Unlocking with the sentry still in place makes a queued RENAME fail: T stays as it was.
    if (locked) await lockConn.query('UNLOCK TABLES').catch(() => undefined);
    if (rename) await rename.catch(() => undefined);
    await dropSentry(ctrl, names).catch(() => undefined);
    if (applierHeld && !(await tableRenamed(ctrl, names))) applier.restart();
    throw err instanceof MigrationFailed ? err : new MigrationFailed(`cut-over failed: ${(err as Error).message}`);
  } finally {
    await lockConn.end().catch(() => undefined);
    await renameConn.end().catch(() => undefined);
  }
}

async function tableRenamed(ctrl: Connection, names: TableNames): Promise<boolean> {
  const [rows] = await ctrl.query<RowDataPacket[]>(
    'SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [names.schema, names.shadow]);
  return rows.length === 0;
}
