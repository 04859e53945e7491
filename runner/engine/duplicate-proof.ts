// Before blaming the data for a duplicate on a new unique key, prove it from the original table. A
// collision in the shadow table may only be a row whose move to another value is still ahead in the
// binlog (the copy reads the latest rows, the shadow table holds what was applied so far). The proof
// copies that key's columns from one consistent read of the original into a temporary table with the
// same column types and the same unique key, so the server compares them exactly as the new table would.
import type { Connection } from 'mysql2/promise';
import { quoteIdent, quoteList } from '../db/quote.ts';
import { duplicateKeyName, mysqlErrno } from '../db/mysql-errors.ts';
import { readTableInfo, type ColumnInfo, type IndexInfo } from '../db/table-info.ts';
import { copiedKeyColumns, type ColumnMapping } from './column-mapping.ts';
import { MigrationFailed, NotRetryable } from './errors.ts';
import type { TableNames } from './table-names.ts';

export interface DuplicateVerdict {
  /** The server's message naming a duplicated value, when the original holds one. */
  duplicate?: string;
  /** False when the key cannot be checked this way (an expression or prefix part, a new or generated column). */
  checked: boolean;
}

/** The proof scans the whole table; past this it gives no verdict rather than run on. */
const PROOF_SECONDS = 300;
const SCRATCH = '_schemabot_duplicate_proof';

function columnDefinition(col: ColumnInfo): string {
  const charset = col.charset ? ` CHARACTER SET ${col.charset} COLLATE ${col.collation}` : '';
  return `${quoteIdent(col.name)} ${col.columnType}${charset} NULL`;
}

/**
 * Does the original table itself hold two rows with the same value of the shadow's unique key
 * `keyName`? `known` describes indexes the shadow table does not have now (deferred ones).
 */
export async function duplicateInOriginal(conn: Connection, names: TableNames, mapping: ColumnMapping, keyName: string,
  known: IndexInfo[] = []): Promise<DuplicateVerdict> {
  const index = known.find((i) => i.name === keyName)
    ?? (await readTableInfo(conn, names.schema, names.shadow)).indexes.find((i) => i.name === keyName);
  const columns = index && copiedKeyColumns(index, mapping);
  if (!columns) return { checked: false };

  await conn.query(`DROP TEMPORARY TABLE IF EXISTS ${SCRATCH}`);
  await conn.query(`CREATE TEMPORARY TABLE ${SCRATCH} (${columns.map((c) => columnDefinition(c.new)).join(', ')},
    UNIQUE KEY k (${quoteList(columns.map((c) => c.new.name))}))`);
  // READ COMMITTED: one consistent read that locks no row of the live table.
  await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
  const copy = `INSERT INTO ${SCRATCH} SELECT ${quoteList(columns.map((c) => c.old.name))} FROM ${quoteIdent(names.original)}`;
  try {
    // MariaDB bounds it; MySQL has no time limit for an INSERT … SELECT (1064 there: run it unbounded).
    await conn.query(`SET STATEMENT max_statement_time = ${PROOF_SECONDS} FOR ${copy}`)
      .catch((err: unknown) => (mysqlErrno(err) === 1064 ? conn.query(copy) : Promise.reject(err)));
    return { checked: true };
  } catch (err) {
    if (mysqlErrno(err) === 1062) return { duplicate: (err as Error).message.replace(/ for key 'k'$/, ''), checked: true };
    return { checked: false };
  } finally {
    await conn.query(`DROP TEMPORARY TABLE IF EXISTS ${SCRATCH}`);
  }
}

/**
 * The verdict on a duplicate that retrying did not clear: the data's fault only when the original
 * proves it (then retrying cannot help); otherwise a failure that says it was never proven.
 */
export async function duplicateFailure(conn: Connection, names: TableNames, mapping: ColumnMapping, err: unknown,
  action: string, known?: IndexInfo[]): Promise<MigrationFailed> {
  const key = duplicateKeyName(err) ?? '?';
  const verdict = await duplicateInOriginal(conn, names, mapping, key, known);
  if (verdict.duplicate) {
    return new NotRetryable(`the original table has rows that violate unique key \`${key}\` of the new definition: ${verdict.duplicate}`);
  }
  const original = verdict.checked
    ? 'the original table holds no such duplicate: concurrent writes kept moving values of that key between rows'
    : 'whether the original table holds such a duplicate could not be checked';
  return new MigrationFailed(`${action} kept colliding on unique key \`${key}\` (${(err as Error).message}); ${original}`);
}
