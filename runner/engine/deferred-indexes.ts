// Secondary indexes make a row-by-row copy slow (random B-tree inserts); a sorted build afterwards is
// much cheaper, which is what native ALTER does. The shadow table's secondary indexes are dropped
// before the copy and added back after it (binlog changes queue meanwhile), from the server's own
// SHOW CREATE TABLE lines; the final definition must then be byte-identical to the altered one.
// Only plain indexes on stored columns are deferred, and only when all of them are, so that the
// rebuilt index order matches a native ALTER.
import type { Connection } from 'mysql2/promise';
import { quoteIdent } from '../db/quote.ts';
import type { BinlogApplier } from './binlog-applier.ts';
import type { ColumnMapping } from './column-mapping.ts';
import { MigrationFailed } from './errors.ts';
import { mysqlErrno } from '../db/mysql-errors.ts';
import { duplicateFailure } from './duplicate-proof.ts';
import { showCreateTable, type IndexInfo, type TableInfo } from '../db/table-info.ts';
import { comparableCreateTable } from '../schema/table-model.ts';
import type { TableNames } from './table-names.ts';

export interface DeferredIndexes {
  names: string[];
  /** `ADD …` clauses, in definition order. */
  clauses: string[];
  /** The shadow table's definition before the indexes were dropped. */
  definition: string;
  /** The deferred indexes' columns, to check a duplicate against the original (absent in older checkpoints). */
  indexes?: IndexInfo[];
}

const INDEX_LINE = /^\s*((?:UNIQUE |FULLTEXT |SPATIAL )?KEY) `((?:[^`]|``)+)` (.*?),?$/;

export async function dropDeferrableIndexes(conn: Connection, names: TableNames, mapping: ColumnMapping,
  shadow: TableInfo): Promise<DeferredIndexes | undefined> {
  const definition = await showCreateTable(conn, names.shadow);
  const generated = new Set(shadow.columns.filter((c) => c.generated).map((c) => c.name));
  const deferred: DeferredIndexes = { names: [], clauses: [], definition, indexes: [] };
  for (const line of definition.split('\n')) {
    const m = INDEX_LINE.exec(line);
    if (!m) continue;
    const name = m[2].replace(/``/g, '`');
    if (name === mapping.key.newIndex) {
      // Re-added indexes come after the ones kept: only when the kept key comes first is the order native.
      if (deferred.names.length > 0) return undefined;
      continue;
    }
    const index = shadow.indexes.find((i) => i.name === name);
    const plain = (m[1] === 'KEY' || m[1] === 'UNIQUE KEY') && index && !index.columns.some((c) => generated.has(c));
    if (!plain) return undefined;
    deferred.names.push(name);
    deferred.clauses.push(`ADD ${m[1]} ${quoteIdent(name)} ${m[3]}`);
    deferred.indexes!.push(index);
  }
  if (deferred.names.length === 0) return undefined;
  await conn.query(`ALTER TABLE ${quoteIdent(names.shadow)} ${deferred.names.map((n) => `DROP INDEX ${quoteIdent(n)}`).join(', ')}`);
  return deferred;
}

/** Lock-wait timeout: the build may simply be tried again. */
const RETRYABLE_BUILD = new Set([1205]);

/**
 * Adds the deferred indexes back with the applier paused: InnoDB's online index build can report
 * a false duplicate when concurrent DML deletes and re-inserts a row (which is how the applier
 * writes), and a paused applier also never queues behind the ALTER's metadata lock. The applier
 * catches up first, so little is pending; a duplicate is retried once more caught up (a unique value
 * may be moving between rows), then reported as the data problem it is. Nothing else writes the
 * shadow table meanwhile, so the build takes LOCK=SHARED: no online row log to keep, and (measured
 * under the bench's writers) a shorter build and a shorter stall of other tables' writers at its end.
 * `firstAttempt` runs the first ALTER instead, under a pause of its own (verification's).
 */
export async function rebuildIndexes(conn: Connection, names: TableNames, mapping: ColumnMapping, deferred: DeferredIndexes,
  applier: BinlogApplier, catchUp: () => Promise<void>, firstAttempt?: (build: () => Promise<void>) => Promise<void>): Promise<void> {
  await conn.query('SET SESSION lock_wait_timeout = 5');
  // Only the ALTER's own errors are judged here; the rest (a catch-up, or verification's) pass through.
  let buildError: unknown;
  const build = async () => {
    await conn.query(`ALTER TABLE ${quoteIdent(names.shadow)} ${deferred.clauses.join(', ')}, ALGORITHM=INPLACE, LOCK=SHARED`)
      .catch((err: unknown) => { buildError = err; throw err; });
  };
  for (let attempt = 1; ; attempt++) {
    try {
      if (attempt === 1 && firstAttempt) {
        await firstAttempt(build);
      } else {
        await catchUp();
        await applier.hold();
        try {
          await build();
        } finally {
          applier.release();
        }
      }
      break;
    } catch (err) {
      if (err !== buildError) throw err;
      if ((mysqlErrno(err) === 1062 || RETRYABLE_BUILD.has(mysqlErrno(err) ?? 0)) && attempt < 3) continue;
      if (mysqlErrno(err) === 1062) throw await duplicateFailure(conn, names, mapping, err, 'rebuilding the shadow table\'s unique indexes', deferred.indexes);
      throw new MigrationFailed(`rebuilding the shadow table's indexes failed: ${(err as Error).message}`);
    }
  }
  const rebuilt = await showCreateTable(conn, names.shadow);
  if (comparableCreateTable(rebuilt) !== comparableCreateTable(deferred.definition)) {
    throw new MigrationFailed(`the shadow table's definition changed while rebuilding its indexes:\n${rebuilt}`);
  }
}
