import type { Connection } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { quoteIdent } from '../db/quote.ts';
import type { BinlogApplier } from './binlog-applier.ts';
import { writeMarker } from './changelog.ts';
import { rowImageExpressions, pickTableHash, tableChecksum, type TableChecksum } from './checksum.ts';
import type { ColumnMapping } from './column-mapping.ts';
import { MigrationFailed } from './errors.ts';
import type { TableNames } from './table-names.ts';

export interface VerificationResult {
  original: TableChecksum;
  shadow: TableChecksum;
  /** How long writers waited while the snapshots were opened, ms. */
  lockMs: number;
}

/** Opens one consistent snapshot per table at a moment when the shadow table has caught up with the original. */
async function openSnapshots(target: ConnectionTarget, ctrl: Connection, names: TableNames, applier: BinlogApplier,
  lockWaitSeconds: number): Promise<{ conns: [Connection, Connection]; lockMs: number }> {
  const lockConn = await connect(target);
  const conns: [Connection, Connection] = [await connect(target), await connect(target)];
  try {
    await lockConn.query('SET SESSION lock_wait_timeout = ?', [lockWaitSeconds]);
    await lockConn.query(`LOCK TABLES ${quoteIdent(names.original)} READ`);
    const lockedAt = performance.now();
    try {
      await applier.waitForMarker(await writeMarker(ctrl, names), 30_000);
      for (const conn of conns) await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    } finally {
      await lockConn.query('UNLOCK TABLES');
    }
    return { conns, lockMs: performance.now() - lockedAt };
  } catch (err) {
    for (const conn of conns) await conn.end().catch(() => undefined);
    throw err;
  } finally {
    await lockConn.end().catch(() => undefined);
  }
}

export async function verifyShadow(target: ConnectionTarget, ctrl: Connection, names: TableNames, mapping: ColumnMapping,
  applier: BinlogApplier, lockWaitSeconds: number): Promise<VerificationResult> {
  const { conns, lockMs } = await openSnapshots(target, ctrl, names, applier, lockWaitSeconds);
  try {
    const [oldImage, newImage] = rowImageExpressions(mapping);
    const hash = await pickTableHash(conns[0]);
    const [original, shadow] = await Promise.all([
      tableChecksum(conns[0], names.original, oldImage, hash),
      tableChecksum(conns[1], names.shadow, newImage, hash),
    ]);
    if (original.rows !== shadow.rows || original.hash !== shadow.hash) {
      const conflicts = applier.conflicts.length > 0
        ? ` Unique-key conflicts met while applying writes: ${applier.conflicts.slice(0, 3).join('; ')}.` : '';
      throw new MigrationFailed(
        `verification failed: the original table has ${original.rows} rows, the shadow table ${shadow.rows}`
        + `${original.rows === shadow.rows ? ' with different contents (a value changed in conversion)' : ''}.${conflicts}`
        + ' Nothing was cut over.');
    }
    return { original, shadow, lockMs };
  } finally {
    for (const conn of conns) await conn.end().catch(() => undefined);
  }
}
