// Atomic cut-over with the sentry-table method (MariaDB refuses RENAME under LOCK TABLES; the method
// works on MySQL too).
//  1. A: `LOCK TABLES T WRITE, T__old WRITE`, where `T__old` is an empty sentry. Writers queue.
//  2. The applier drains every change up to a marker written now; only A may read T, so those rows
//     travel through A and are then verified one by one against T.
//  3. B: `RENAME TABLE T TO T__old, _T_gho TO T`. The server takes metadata locks in byte order of the
//     names; `_T_gho` is free and `T__old` sorts after T (T is its prefix), so B waits on T itself,
//     which the processlist shows.
//  4. A drops the sentry and unlocks. A pending exclusive lock has priority over the queued writers, so
//     the RENAME runs first and the writers continue on the new table.
// If A dies or gives up while the sentry exists, B's RENAME fails (table exists) and writes continue on
// the original T. If something fails after the sentry is gone, B is killed (and seen dead) before A
// unlocks, and the outcome is read back rather than assumed.
import { randomUUID } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { quoteIdent } from '../db/quote.ts';
import type { BinlogApplier } from './binlog-applier.ts';
import type { BinlogPosition } from './binlog-streamer.ts';
import { writeMarker } from './changelog.ts';
import { rowImageExpressions } from './checksum.ts';
import type { ColumnMapping } from './column-mapping.ts';
import { MigrationFailed } from './errors.ts';
import { keyIn, type KeyValues } from './key-sql.ts';
import { showCreateTable, tableExists } from './table-info.ts';
import { SENTRY_COMMENT, type TableNames } from './table-names.ts';


export interface CutOverOptions {
  /** How long A waits for the write lock (B waits three times as long). */
  lockWaitSeconds: number;
  /** The longest the drain under the lock may take. */
  drainTimeoutMs: number;
  /** Unique-key conflicts the applier had met when the tables were last verified equal. */
  verifiedConflicts: number;
  /** Called under the lock, after the drain, with the binlog position past the old table's last change. */
  beforeRename?: (position: BinlogPosition) => Promise<void>;
}

export interface CutOverResult {
  /** Time writers were blocked: from holding the lock to the rename completing. */
  stallMs: number;
  /** Rows changed between the last batch and the lock, moved and verified under the lock. */
  drainedRows: number;
}

function autoIncrementOf(createTable: string): number | undefined {
  const m = /\bAUTO_INCREMENT=(\d+)/.exec(createTable);
  return m ? Number(m[1]) : undefined;
}

export async function dropSentry(ctrl: Connection, names: TableNames): Promise<void> {
  const [rows] = await ctrl.query<RowDataPacket[]>(
    'SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [names.schema, names.old]);
  if (rows.length > 0 && rows[0].TABLE_COMMENT === SENTRY_COMMENT) await ctrl.query(`DROP TABLE ${quoteIdent(names.old)}`);
}

async function poll(what: string, timeoutMs: number, rename: Promise<unknown>, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let settled: unknown;
  rename.then(() => { settled = new Error('RENAME completed too early'); }, (err) => { settled = err; });
  for (;;) {
    if (settled) throw settled;
    if (await done()) return;
    if (Date.now() > deadline) throw new MigrationFailed(`cut-over: ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/**
 * Every drained key must exist in T exactly when its last change left a row (a key the binlog
 * decoded wrongly would otherwise slip through), and its row must be identical in both tables.
 */
async function verifyDrained(lockConn: Connection, ctrl: Connection, names: TableNames, mapping: ColumnMapping,
  drained: Array<{ key: KeyValues; present: boolean }>): Promise<void> {
  const [oldImage, newImage] = rowImageExpressions(mapping);
  for (let i = 0; i < drained.length; i += 1000) {
    const slice = drained.slice(i, i + 1000);
    const images = async (conn: Connection, table: string, columns: string[], image: string) => {
      const where = keyIn(columns, slice.map((d) => d.key));
      const [rows] = await conn.query<RowDataPacket[]>({
        sql: `SELECT ${image} FROM ${quoteIdent(table)} WHERE ${where.sql}`, rowsAsArray: true,
      }, where.params);
      return rows.map((r) => Buffer.from(r[0] as Buffer).toString('hex')).sort();
    };
    const original = await images(lockConn, names.original, mapping.key.oldColumns, oldImage);
    const shadow = await images(ctrl, names.shadow, mapping.key.newColumns, newImage);
    if (original.length !== slice.filter((d) => d.present).length) {
      throw new MigrationFailed('cut-over: rows changed just before the lock could not be found again by key');
    }
    if (original.join() !== shadow.join()) {
      throw new MigrationFailed('cut-over: rows written just before the lock did not convert exactly through the client');
    }
  }
}

/** KILL QUERY returns before the victim has stopped: wait (bounded) until its RENAME has failed. */
async function killAndAwait(ctrl: Connection, thread: number, rename: Promise<unknown>): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    await ctrl.query(`KILL QUERY ${thread}`).catch(() => undefined);
    const settled = await Promise.race([
      rename.then(() => true, () => true),
      new Promise<false>((r) => setTimeout(() => r(false), 1_000)),
    ]);
    if (settled) return;
  }
}

export async function cutOver(target: ConnectionTarget, ctrl: Connection, names: TableNames, mapping: ColumnMapping,
  applier: BinlogApplier, options: CutOverOptions): Promise<CutOverResult> {
  const t = quoteIdent(names.original);
  const old = quoteIdent(names.old);
  const conns: Connection[] = [];
  let rename: Promise<unknown> | undefined;
  let renameThread: number | undefined;
  let locked = false;
  let applierHeld = false;
  let sentryDropped = false;
  let lockConn!: Connection;
  let lockedAt = 0;
  let drainedRows = 0;
  try {
    for (let i = 0; i < 2; i++) conns.push(await connect(target));
    const [a, renameConn] = conns;
    lockConn = a;
    await ctrl.query(`CREATE TABLE ${old} (id INT) COMMENT='${SENTRY_COMMENT}'`);
    await lockConn.query('SET SESSION lock_wait_timeout = ?', [options.lockWaitSeconds]);
    await applier.hold();
    applierHeld = true;
    await lockConn.query(`LOCK TABLES ${t} WRITE, ${old} WRITE`);
    locked = true;
    lockedAt = performance.now();

    const token = randomUUID();
    applier.release({ lockedReader: lockConn, stopAfter: token });
    await writeMarker(ctrl, names, token);
    await applier.waitForMarker(token, options.drainTimeoutMs);
    if (applier.conflicts.length > options.verifiedConflicts) {
      throw new MigrationFailed('cut-over: a unique-key conflict arose since verification; verifying again first');
    }
    const drained = applier.drainedKeys();
    drainedRows = drained.length;
    await verifyDrained(lockConn, ctrl, names, mapping, drained);
    if (options.beforeRename) {
      const [[status]] = await lockConn.query<RowDataPacket[]>('SHOW MASTER STATUS');
      await options.beforeRename({ file: status.File, position: Number(status.Position) });
    }

    // The shadow table's counter only knows the rows it holds; never let it reuse an id.
    await renameConn.query('SET SESSION lock_wait_timeout = ?', [options.lockWaitSeconds]);
    const originalAi = autoIncrementOf(await showCreateTable(lockConn, names.original));
    const shadowAi = autoIncrementOf(await showCreateTable(renameConn, names.shadow));
    if (originalAi !== undefined && originalAi > (shadowAi ?? 1)) {
      await renameConn.query(`ALTER TABLE ${quoteIdent(names.shadow)} AUTO_INCREMENT = ${originalAi}`);
    }

    const [[{ id }]] = await renameConn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    renameThread = Number(id);
    await renameConn.query('SET SESSION lock_wait_timeout = ?', [options.lockWaitSeconds * 3]);
    const pendingRename = renameConn.query(`RENAME TABLE ${t} TO ${old}, ${quoteIdent(names.shadow)} TO ${t}`);
    rename = pendingRename;
    pendingRename.catch(() => undefined);
    await poll('the RENAME was not seen waiting', 5_000, pendingRename, async () => {
      const [rows] = await ctrl.query<RowDataPacket[]>(
        'SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE ?', [renameThread, 'RENAME TABLE%']);
      return rows.length > 0 && /metadata lock/i.test(String(rows[0].STATE));
    });

    await lockConn.query(`DROP TABLE ${old}`);
    sentryDropped = true;
    await lockConn.query('UNLOCK TABLES');
    locked = false;
    await pendingRename;
    return { stallMs: performance.now() - lockedAt, drainedRows };
  } catch (err) {
    // With the sentry gone nothing stops the queued RENAME any more: kill it, and see it die, while
    // A still holds T (it cannot complete meanwhile).
    if (sentryDropped && locked && rename && renameThread !== undefined) await killAndAwait(ctrl, renameThread, rename);
    // Unlocking with the sentry still in place makes a queued RENAME fail: T stays as it was.
    if (locked) await lockConn.query('UNLOCK TABLES').catch(() => undefined);
    if (rename) await rename.catch(() => undefined);
    // The shadow table's name is gone exactly when the RENAME happened.
    const renamed = await tableExists(ctrl, names.schema, names.shadow).then((exists) => !exists, () => false);
    if (renamed) {
      // The RENAME completed after all; everything was drained and verified before the sentry went.
      return { stallMs: performance.now() - lockedAt, drainedRows };
    }
    await dropSentry(ctrl, names).catch(() => undefined);
    if (applierHeld) await applier.restart();
    throw err instanceof MigrationFailed ? err : new MigrationFailed(`cut-over failed: ${(err as Error).message}`);
  } finally {
    for (const conn of conns) await conn.end().catch(() => undefined);
  }
}
