// Atomic cut-over with the sentry-table method (MariaDB refuses RENAME under LOCK TABLES; the method
// works on MySQL too).
//  1. A: `LOCK TABLES T WRITE, _T_old WRITE`, where `_T_old` is an empty sentry. Writers queue.
//  2. The applier drains every change up to a marker written now; only A may read T, so those rows
//     travel through A and are then verified one by one against T.
//  3. B: `RENAME TABLE T TO _T_old, _T_gho TO T`. The server takes metadata locks in byte order of
//     the names: B waits on whichever of T and `_T_old` sorts first.
//  4. A drops the sentry. If the sentry sorted first, B now takes its name and waits on T, which a
//     probe confirms (the sentry name is locked). A pending exclusive lock has priority over the
//     queued writers, so when A unlocks, the RENAME runs first and writers continue on the new table.
// If A dies or gives up while the sentry exists, B's RENAME fails (table exists) and writes continue
// on the original T. If something fails after the sentry is gone, B is killed before unlocking, and
// the outcome (swapped or not) is read back rather than assumed.
import { randomUUID } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { quoteIdent } from '../db/quote.ts';
import type { BinlogApplier } from './binlog-applier.ts';
import { writeMarker } from './changelog.ts';
import { rowImageExpressions } from './checksum.ts';
import type { ColumnMapping } from './column-mapping.ts';
import { MigrationFailed } from './errors.ts';
import { keyIn, type KeyValues } from './key-sql.ts';
import { mysqlErrno } from './mysql-errors.ts';
import { showCreateTable } from './table-info.ts';
import type { TableNames } from './table-names.ts';

const SENTRY_COMMENT = 'schemabot cut-over sentry';

export interface CutOverOptions {
  /** How long A waits for the write lock (B waits three times as long). */
  lockWaitSeconds: number;
  /** The longest the drain under the lock may take. */
  drainTimeoutMs: number;
  /** Unique-key conflicts the applier had met when the tables were last verified equal. */
  verifiedConflicts: number;
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

async function dropSentry(ctrl: Connection, names: TableNames): Promise<void> {
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

/** MDL keys compare as bytes, names NUL-terminated. */
function sortsBefore(a: string, b: string): boolean {
  return Buffer.compare(Buffer.from(`${a}\0`), Buffer.from(`${b}\0`)) < 0;
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
    for (let i = 0; i < 3; i++) conns.push(await connect(target));
    const [a, renameConn, probe] = conns;
    lockConn = a;
    await ctrl.query(`CREATE TABLE ${old} (id INT) COMMENT='${SENTRY_COMMENT}'`);
    await lockConn.query('SET SESSION lock_wait_timeout = ?', [options.lockWaitSeconds]);
    await probe.query('SET SESSION lock_wait_timeout = 0');
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
    // Once the RENAME holds the sentry's name it waits on T itself, ahead of every queued writer.
    if (!sortsBefore(names.original, names.old)) await poll('the RENAME did not move on to the table', 5_000, pendingRename, async () => {
      try {
        await probe.query(`SELECT 1 FROM ${old} LIMIT 0`);
        return false;
      } catch (err) {
        if (mysqlErrno(err) === 1146) return false;
        if (mysqlErrno(err) === 1205) return true;
        throw err;
      }
    });
    await lockConn.query('UNLOCK TABLES');
    locked = false;
    await pendingRename;
    return { stallMs: performance.now() - lockedAt, drainedRows };
  } catch (err) {
    // With the sentry gone nothing stops the queued RENAME any more: kill it before unlocking.
    if (sentryDropped && renameThread !== undefined) await ctrl.query(`KILL QUERY ${renameThread}`).catch(() => undefined);
    // Unlocking with the sentry still in place makes a queued RENAME fail: T stays as it was.
    if (locked) await lockConn.query('UNLOCK TABLES').catch(() => undefined);
    if (rename) await rename.catch(() => undefined);
    if (await tableRenamed(ctrl, names)) {
      // The RENAME won the race after all; everything was drained and verified before the sentry went.
      return { stallMs: performance.now() - lockedAt, drainedRows };
    }
    await dropSentry(ctrl, names).catch(() => undefined);
    if (applierHeld) await applier.restart();
    throw err instanceof MigrationFailed ? err : new MigrationFailed(`cut-over failed: ${(err as Error).message}`);
  } finally {
    for (const conn of conns) await conn.end().catch(() => undefined);
  }
}

async function tableRenamed(ctrl: Connection, names: TableNames): Promise<boolean> {
  const [rows] = await ctrl.query<RowDataPacket[]>(
    'SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [names.schema, names.shadow]);
  return rows.length === 0;
}
