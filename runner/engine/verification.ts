import type { Connection, RowDataPacket } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { quoteIdent } from '../db/quote.ts';
import type { BinlogApplier } from './binlog-applier.ts';
import { writeMarker } from './changelog.ts';
import { keyImages, rowImageExpressions, pickTableHash, splitTableChecksum, tableChecksum, type TableChecksum } from './checksum.ts';
import type { ColumnMapping } from './column-mapping.ts';
import { NotRetryable } from './errors.ts';
import type { KeyValues } from './key-sql.ts';
import type { TableNames } from './table-names.ts';

export interface VerificationResult {
  original: TableChecksum;
  shadow: TableChecksum;
  /** How long writers waited while the snapshots were opened, ms. */
  lockMs: number;
}

const DRAIN_UNDER_LOCK_MS = 2_000;
const LOCK_ATTEMPTS = 5;

/**
 * Opens `count` consistent snapshots at a moment when the shadow table has caught up with the
 * original. Writers wait while the lock is held, so the applier gets a short deadline under it (the
 * caller catches up beforehand) and the attempt is repeated rather than holding writers longer.
 */
async function openSnapshots(target: ConnectionTarget, ctrl: Connection, names: TableNames, applier: BinlogApplier,
  lockWaitSeconds: number, count: number): Promise<{ conns: Connection[]; lockMs: number }> {
  const opened: Connection[] = [];
  try {
    for (let i = 0; i <= count; i++) opened.push(await connect(target));
    const [lockConn, ...conns] = opened;
    await lockConn.query('SET SESSION lock_wait_timeout = ?', [lockWaitSeconds]);
    for (let attempt = 1; ; attempt++) {
      let lockedAt = 0;
      try {
        // A long write transaction on T makes the lock wait: that is retried too.
        await lockConn.query(`LOCK TABLES ${quoteIdent(names.original)} READ`);
        lockedAt = performance.now();
        await applier.waitForMarker(await writeMarker(ctrl, names), DRAIN_UNDER_LOCK_MS);
        for (const conn of conns) await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
        await lockConn.query('UNLOCK TABLES');
        await lockConn.end();
        return { conns, lockMs: performance.now() - lockedAt };
      } catch (err) {
        await lockConn.query('UNLOCK TABLES').catch(() => undefined);
        if (applier.error || attempt >= LOCK_ATTEMPTS) throw err;
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  } catch (err) {
    for (const conn of opened) await conn.end().catch(() => undefined);
    throw err;
  }
}

/** Work that needs the shadow table to itself (its index build) and may run once the shadow's rows are counted. */
export interface AlongsideVerification {
  run(): Promise<void>;
  /** About how many rows the shadow table holds (where to split its checksum). */
  expectedRows: number;
}

/**
 * Counts and hashes both tables in snapshots of one moment. With `alongside` (the shadow's index
 * build, which must wait until nothing reads the shadow table), the shadow table is hashed first on
 * both cores, then the build runs beside the original table's checksum; a failed build is the error.
 */
export async function verifyShadow(target: ConnectionTarget, ctrl: Connection, names: TableNames, mapping: ColumnMapping,
  applier: BinlogApplier, lockWaitSeconds: number, alongside?: AlongsideVerification): Promise<VerificationResult> {
  const { conns, lockMs } = await openSnapshots(target, ctrl, names, applier, lockWaitSeconds, alongside ? 3 : 2);
  try {
    const [oldImage, newImage] = rowImageExpressions(mapping);
    const [originalConn, ...shadowConns] = conns;
    const hash = await pickTableHash(originalConn);
    const checksumOriginal = () => tableChecksum(originalConn, names.original, oldImage, hash);
    let original: TableChecksum;
    let shadow: TableChecksum;
    if (alongside) {
      const key = { columns: mapping.key.newColumns, index: mapping.key.newIndex };
      shadow = await splitTableChecksum([shadowConns[0], shadowConns[1]], names.shadow, key, newImage, hash, alongside.expectedRows);
      for (const conn of shadowConns) await conn.query('COMMIT');
      const [built, counted] = await Promise.allSettled([alongside.run(), checksumOriginal()]);
      if (built.status === 'rejected') throw built.reason;
      if (counted.status === 'rejected') throw counted.reason;
      original = counted.value;
    } else {
      [original, shadow] = await Promise.all([checksumOriginal(), tableChecksum(shadowConns[0], names.shadow, newImage, hash)]);
    }
    if (original.rows !== shadow.rows || original.hash !== shadow.hash) {
      const conflicts = applier.conflicts.length > 0
        ? ` Unique-key conflicts met while applying writes: ${applier.conflicts.slice(0, 3).join('; ')}.` : '';
      throw new NotRetryable(
        `verification failed: the original table has ${original.rows} rows, the shadow table ${shadow.rows}`
        + `${original.rows === shadow.rows ? ' with different contents (a value changed in conversion)' : ''}.${conflicts}`
        + ' Nothing was cut over.');
    }
    return { original, shadow, lockMs };
  } finally {
    for (const conn of conns) await conn.end().catch(() => undefined);
  }
}

async function rowCount(conn: Connection, table: string): Promise<number> {
  const [[row]] = await conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${quoteIdent(table)}`);
  return Number(row.n);
}

/**
 * Verification of a swap back, in proportion to the changes: the two tables were proven equal at the
 * cut-over, and since then only the keys the applier replayed can differ. In consistent snapshots the
 * row counts must match and every replayed key must have identical rows (or none) in both tables.
 */
export async function verifyChangedKeys(target: ConnectionTarget, ctrl: Connection, names: TableNames, mapping: ColumnMapping,
  applier: BinlogApplier, keys: KeyValues[], lockWaitSeconds: number): Promise<{ rows: number; compared: number; lockMs: number }> {
  const { conns: [a, b], lockMs } = await openSnapshots(target, ctrl, names, applier, lockWaitSeconds, 2);
  try {
    const [original, shadow] = await Promise.all([rowCount(a, names.original), rowCount(b, names.shadow)]);
    if (original !== shadow) {
      throw new NotRetryable(`verification failed: \`${names.original}\` has ${original} rows, \`${names.shadow}\` ${shadow}. Nothing was swapped.`);
    }
    const [oldImage, newImage] = rowImageExpressions(mapping);
    for (let i = 0; i < keys.length; i += 1000) {
      const slice = keys.slice(i, i + 1000);
      const [left, right] = await Promise.all([
        keyImages(a, names.original, mapping.key.oldColumns, oldImage, slice),
        keyImages(b, names.shadow, mapping.key.newColumns, newImage, slice),
      ]);
      if (left.join() !== right.join()) {
        throw new NotRetryable(`verification failed: rows changed since the cut-over differ between \`${names.original}\` and `
          + `\`${names.shadow}\` (a value changed in conversion?). Nothing was swapped.`);
      }
    }
    return { rows: original, compared: keys.length, lockMs };
  } finally {
    for (const conn of [a, b]) await conn.end().catch(() => undefined);
  }
}
