// Atomic cut-over of one or several tables with the sentry-table method (MariaDB refuses RENAME under
// LOCK TABLES; the method works on MySQL too).
//  1. One holder per table: `LOCK TABLES T WRITE, T__old WRITE`, where `T__old` is an empty sentry.
//     Writers queue.
//  2. Each applier drains every change up to a marker written now; only T's holder may read T, so
//     those rows travel through it and are then verified one by one against T.
//  3. R: one `RENAME TABLE T TO T__old, T__gho TO T, …` for every table. The server takes its
//     metadata locks one by one in name order (T first: every helper name has T as its prefix) and
//     waits at the first one a holder has.
//  4. The holders drop their sentries and unlock in that order. A pending exclusive lock has priority
//     over the queued writers, so R takes each table before any writer does; before releasing the
//     next holder, R is seen holding every table it has passed (when the server shows granted
//     metadata locks), so no writer can slip into a table between two holders.
// If a holder dies or gives up while a sentry exists, R fails (table exists; the whole RENAME is
// undone) and writes continue on the original tables. If something fails after the last sentry is
// gone, R is killed (and seen dead) before the last holder unlocks, and the outcome is read back
// rather than assumed.
import { randomUUID } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import {
  describeHolders, exclusiveTables, lockHolders, lockOrder, metadataLockSource, type LockHolder, type MetadataLockSource,
} from '../db/metadata-locks.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { quoteIdent } from '../db/quote.ts';
import type { BinlogApplier } from './binlog-applier.ts';
import type { BinlogPosition } from './binlog-streamer.ts';
import { writeMarker } from './changelog.ts';
import { keyImages, rowImageExpressions } from './checksum.ts';
import type { ColumnMapping } from './column-mapping.ts';
import { MigrationFailed, NotRetryable } from './errors.ts';
import { isRetryable } from '../db/mysql-errors.ts';
import type { KeyValues } from './key-sql.ts';
import { listTriggers, showCreateTable, tableExists } from '../db/table-info.ts';
import { SENTRY_COMMENT, type TableNames } from './table-names.ts';


export interface CutOverOptions {
  /** How long a holder waits for its write lock (R waits three times as long). */
  lockWaitSeconds: number;
  /** The longest the drain under the lock may take. */
  drainTimeoutMs: number;
}

/** One table of a cut-over. */
export interface CutOverPart {
  names: TableNames;
  mapping: ColumnMapping;
  applier: BinlogApplier;
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

/** What stands at the kept original's name: nothing, an empty cut-over sentry, or a table. */
async function keptKind(ctrl: Connection, names: TableNames): Promise<'none' | 'sentry' | 'table'> {
  const [rows] = await ctrl.query<RowDataPacket[]>(
    'SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [names.schema, names.old]);
  return rows.length === 0 ? 'none' : rows[0].TABLE_COMMENT === SENTRY_COMMENT ? 'sentry' : 'table';
}

export async function dropSentry(ctrl: Connection, names: TableNames): Promise<void> {
  if ((await keptKind(ctrl, names)) === 'sentry') await ctrl.query(`DROP TABLE ${quoteIdent(names.old)}`);
}

/** Whether the RENAME happened: the shadow's name is gone and the original stands aside. */
export async function swapHappened(ctrl: Connection, names: TableNames): Promise<boolean> {
  return !(await tableExists(ctrl, names.schema, names.shadow)) && (await keptKind(ctrl, names)) === 'table';
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
    const keys = slice.map((d) => d.key);
    const original = await keyImages(lockConn, names.original, mapping.key.oldColumns, oldImage, keys);
    const shadow = await keyImages(ctrl, names.shadow, mapping.key.newColumns, newImage, keys);
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

/** The RENAME could not pass a table another connection holds. */
class PassageBlocked extends MigrationFailed {}

/** A cut-over attempt gave up because other connections hold locks it needs (named, for status and an optional kill). */
export class CutOverBlocked extends MigrationFailed {
  constructor(message: string, readonly blockers: LockHolder[], readonly exact: boolean) {
    super(message);
  }
}

/** Who holds the cut-over's tables, other than the cut-over's own connections (best effort). */
async function findBlockers(ctrl: Connection, source: MetadataLockSource | undefined, parts: CutOverPart[],
  own: Connection[]): Promise<LockHolder[]> {
  try {
    const ids: number[] = [];
    for (const conn of own) ids.push(Number((await conn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id'))[0][0].id));
    return await lockHolders(ctrl, source, parts[0].names.schema, parts.flatMap(({ names }) => [names.original, names.shadow, names.old]), ids);
  } catch {
    return [];
  }
}

/** Holders in the order R reaches them: by their table's name (each table sorts before its sentry). */
async function holderOrder(ctrl: Connection, parts: CutOverPart[]): Promise<{ parts: CutOverPart[]; order: (a: string, b: string) => number }> {
  const [[{ lower }]] = await ctrl.query<RowDataPacket[]>('SELECT @@lower_case_table_names AS lower');
  const order = lockOrder(Number(lower) !== 0);
  return { parts: [...parts].sort((a, b) => order(a.names.original, b.names.original)), order };
}

/**
 * Waits until R holds every name of its RENAME that sorts before `next` (the next held table), so
 * that releasing `next`'s holder lets R, not a writer, take it.
 */
async function awaitPassage(ctrl: Connection, source: MetadataLockSource, thread: number, schema: string, names: string[],
  next: string, order: (a: string, b: string) => number, rename: Promise<unknown>): Promise<void> {
  const before = names.filter((n) => order(n, next) < 0);
  try {
    await poll(`the RENAME did not take ${before.map((n) => `\`${n}\``).join(', ')}`, 5_000, rename, async () => {
      const held = await exclusiveTables(ctrl, source, thread, schema);
      return before.every((n) => held.has(n));
    });
  } catch (err) {
    throw err instanceof MigrationFailed ? new PassageBlocked(err.message) : err;
  }
}

export async function cutOver(target: ConnectionTarget, ctrl: Connection, unordered: CutOverPart[],
  options: CutOverOptions): Promise<CutOverResult> {
  const { parts, order } = await holderOrder(ctrl, unordered);
  const schema = parts[0].names.schema;
  // With several tables, each hand-over between holders must be seen, not assumed.
  const source = await metadataLockSource(ctrl);
  if (parts.length > 1 && !source) {
    throw new MigrationFailed('an atomic cut-over of several tables needs to see metadata locks: on MariaDB run '
      + "INSTALL SONAME 'metadata_lock_info' (or enable performance_schema with its MDL instrument)");
  }
  const holders: Connection[] = [];
  let renameConn: Connection | undefined;
  let rename: Promise<unknown> | undefined;
  let renameThread: number | undefined;
  let locked = 0;
  let sentries = 0;
  let appliersHeld = false;
  let lockedAt = 0;
  let drainedRows = 0;
  try {
    for (const part of parts) {
      holders.push(await connect(target));
      await ctrl.query(`CREATE TABLE ${quoteIdent(part.names.old)} (id INT) COMMENT='${SENTRY_COMMENT}'`);
      sentries++;
    }
    renameConn = await connect(target);
    for (const holder of holders) await holder.query('SET SESSION lock_wait_timeout = ?', [options.lockWaitSeconds]);
    for (const part of parts) await part.applier.hold();
    appliersHeld = true;
    for (const [i, part] of parts.entries()) {
      await holders[i].query(`LOCK TABLES ${quoteIdent(part.names.original)} WRITE, ${quoteIdent(part.names.old)} WRITE`);
      locked++;
      lockedAt ||= performance.now();
    }

    const tokens = parts.map(() => randomUUID());
    for (const [i, part] of parts.entries()) {
      part.applier.release({ lockedReader: holders[i], stopAfter: tokens[i] });
      await writeMarker(ctrl, part.names, tokens[i]);
    }
    for (const [i, part] of parts.entries()) {
      await part.applier.waitForMarker(tokens[i], options.drainTimeoutMs);
      if (part.applier.conflicts.length > part.verifiedConflicts) {
        throw new MigrationFailed('cut-over: a unique-key conflict arose since verification; verifying again first');
      }
      const drained = part.applier.drainedKeys();
      drainedRows += drained.length;
      await verifyDrained(holders[i], ctrl, part.names, part.mapping, drained);
      // A trigger created during the migration would stay behind on the old table.
      const triggers = await listTriggers(holders[i], part.names.schema, part.names.original);
      if (triggers.length > 0) {
        throw new NotRetryable(`\`${part.names.original}\` got triggers during the migration (${triggers.join(', ')}): they would stay on `
          + 'the old table and be missing on the new one; drop them and run the migration again, then create them on the new table');
      }
    }
    const [[status]] = await holders[0].query<RowDataPacket[]>('SHOW MASTER STATUS');
    for (const part of parts) await part.beforeRename?.({ file: status.File, position: Number(status.Position) });

    // The shadow table's counter only knows the rows it holds; never let it reuse an id.
    await renameConn.query('SET SESSION lock_wait_timeout = ?', [options.lockWaitSeconds]);
    for (const [i, part] of parts.entries()) {
      const originalAi = autoIncrementOf(await showCreateTable(holders[i], part.names.original));
      const shadowAi = autoIncrementOf(await showCreateTable(renameConn, part.names.shadow));
      if (originalAi !== undefined && originalAi > (shadowAi ?? 1)) {
        await renameConn.query(`ALTER TABLE ${quoteIdent(part.names.shadow)} AUTO_INCREMENT = ${originalAi}`);
      }
    }

    const [[{ id }]] = await renameConn.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id');
    renameThread = Number(id);
    await renameConn.query('SET SESSION lock_wait_timeout = ?', [options.lockWaitSeconds * 3]);
    const pairs = parts.map(({ names }) => `${quoteIdent(names.original)} TO ${quoteIdent(names.old)}, ${quoteIdent(names.shadow)} TO ${quoteIdent(names.original)}`);
    const pendingRename = renameConn.query(`RENAME TABLE ${pairs.join(', ')}`);
    rename = pendingRename;
    pendingRename.catch(() => undefined);
    await poll('the RENAME was not seen waiting', 5_000, pendingRename, async () => {
      const [rows] = await ctrl.query<RowDataPacket[]>(
        'SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE ?', [renameThread, 'RENAME TABLE%']);
      return rows.length > 0 && /metadata lock/i.test(String(rows[0].STATE));
    });

    const renamed = parts.flatMap(({ names }) => [names.original, names.old, names.shadow]);
    for (const [i, part] of parts.entries()) {
      if (source) await awaitPassage(ctrl, source, renameThread, schema, renamed, part.names.original, order, pendingRename);
      await holders[i].query(`DROP TABLE ${quoteIdent(part.names.old)}`);
      sentries--;
      // The last holder unlocks in `finally`-safe order below: R must be seen dead first if anything fails.
      if (i === parts.length - 1) break;
      await holders[i].query('UNLOCK TABLES');
      locked--;
    }
    await holders[parts.length - 1].query('UNLOCK TABLES');
    locked--;
    await pendingRename;
    return { stallMs: performance.now() - lockedAt, drainedRows };
  } catch (err) {
    const blockers = isRetryable(err) || err instanceof PassageBlocked
      ? await findBlockers(ctrl, source, parts, [ctrl, ...holders, ...(renameConn ? [renameConn] : [])]) : [];
    // With every sentry gone nothing stops the queued RENAME any more: kill it, and see it die, while
    // the last holder still holds its table (R cannot complete meanwhile).
    if (sentries === 0 && locked > 0 && rename && renameThread !== undefined) await killAndAwait(ctrl, renameThread, rename);
    // Unlocking with a sentry still in place makes a queued RENAME fail (and undo itself).
    for (const holder of holders) await holder.query('UNLOCK TABLES').catch(() => undefined);
    if (rename) await rename.catch(() => undefined);
    // The shadow tables' names are gone exactly when the RENAME happened (all or none).
    const renamed = await swapHappened(ctrl, parts[0].names).catch(() => false);
    if (renamed) {
      // The RENAME completed after all; everything was drained and verified before the sentries went.
      return { stallMs: performance.now() - lockedAt, drainedRows };
    }
    for (const part of parts) await dropSentry(ctrl, part.names).catch(() => undefined);
    if (appliersHeld) for (const part of parts) await part.applier.restart();
    if (blockers.length > 0) {
      throw new CutOverBlocked(`cut-over waited too long for a lock held by ${describeHolders(blockers, source !== undefined)}`,
        blockers, source !== undefined);
    }
    throw err instanceof MigrationFailed ? err : new MigrationFailed(`cut-over failed: ${(err as Error).message}`);
  } finally {
    for (const conn of [...holders, renameConn]) await conn?.end().catch(() => undefined);
  }
}
