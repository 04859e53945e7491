import type { Connection, RowDataPacket } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { quoteIdent } from '../db/quote.ts';
import type { BinlogApplier } from './binlog-applier.ts';
import { writeMarker } from './changelog.ts';
import { keyImages, rangedTableChecksum, rowImageExpressions, pickTableHash, tableChecksum, type TableChecksum } from './checksum.ts';
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
  lockWaitSeconds: number, count: number, holdApplier = false): Promise<{ conns: Connection[]; lockMs: number }> {
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
        // Held from this moment on, the shadow table stays as the snapshots see the original.
        if (holdApplier) await applier.hold();
        await lockConn.query('UNLOCK TABLES');
        await lockConn.end();
        return { conns, lockMs: performance.now() - lockedAt };
      } catch (err) {
        if (holdApplier) applier.release();
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

/** Ranges of the shadow table hashed while its index build runs: each keeps the build waiting no longer. */
const SHADOW_RANGE_MS = 100;

/**
 * Counts and hashes both tables in snapshots of one moment. With `alongside` (the ALTER that builds
 * the shadow table's deferred indexes) the applier is held from that moment until both are done:
 * the shadow table stays frozen, so it is hashed a key range per statement beside the build and the
 * original's checksum, on both cores. A failed build is the error.
 */
export async function verifyShadow(target: ConnectionTarget, ctrl: Connection, names: TableNames, mapping: ColumnMapping,
  applier: BinlogApplier, lockWaitSeconds: number, alongside?: () => Promise<void>): Promise<VerificationResult> {
  const { conns, lockMs } = await openSnapshots(target, ctrl, names, applier, lockWaitSeconds, alongside ? 1 : 2, alongside !== undefined);
  try {
    if (alongside) conns.push(await connect(target));
    const [originalConn, shadowConn] = conns;
    const [oldImage, newImage] = rowImageExpressions(mapping);
    const hash = await pickTableHash(originalConn);
    const checksumOriginal = tableChecksum(originalConn, names.original, oldImage, hash);
    const checksumShadow = alongside
      ? rangedTableChecksum(shadowConn, names.shadow, { columns: mapping.key.newColumns, index: mapping.key.newIndex }, newImage, hash,
        SHADOW_RANGE_MS)
      : tableChecksum(shadowConn, names.shadow, newImage, hash);
    const [built, original, shadow] = await Promise.allSettled([alongside?.(), checksumOriginal, checksumShadow]);
    if (built.status === 'rejected') throw built.reason;
    if (original.status === 'rejected') throw original.reason;
    if (shadow.status === 'rejected') throw shadow.reason;
    if (original.value.rows !== shadow.value.rows || original.value.hash !== shadow.value.hash) {
      const conflicts = applier.conflicts.length > 0
        ? ` Unique-key conflicts met while applying writes: ${applier.conflicts.slice(0, 3).join('; ')}.` : '';
      throw new NotRetryable(
        `verification failed: the original table has ${original.value.rows} rows, the shadow table ${shadow.value.rows}`
        + `${original.value.rows === shadow.value.rows ? ' with different contents (a value changed in conversion)' : ''}.${conflicts}`
        + ' Nothing was cut over.');
    }
    return { original: original.value, shadow: shadow.value, lockMs };
  } finally {
    if (alongside) applier.release();
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
