// Which metadata locks a connection has been granted, where the server can tell: MariaDB's
// metadata_lock_info plugin (information_schema.METADATA_LOCK_INFO lists granted locks only) or
// performance_schema.metadata_locks with its MDL instrument enabled (MySQL 8's default). The cut-over
// uses it to prove that its queued RENAME holds every table it has passed, rather than assume it.
import type { Connection, RowDataPacket } from 'mysql2/promise';

export type MetadataLockSource = 'metadata_lock_info' | 'performance_schema';

export async function metadataLockSource(conn: Connection): Promise<MetadataLockSource | undefined> {
  const [plugin] = await conn.query<RowDataPacket[]>(
    "SELECT 1 FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO' AND PLUGIN_STATUS = 'ACTIVE'");
  if (plugin.length > 0) return 'metadata_lock_info';
  const [[ps]] = await conn.query<RowDataPacket[]>('SELECT @@performance_schema AS on_');
  if (Number(ps.on_) !== 1) return undefined;
  const [instrument] = await conn.query<RowDataPacket[]>(
    "SELECT 1 FROM performance_schema.setup_instruments WHERE NAME = 'wait/lock/metadata/sql/mdl' AND ENABLED = 'YES'").catch(() => [[]]);
  return (instrument as RowDataPacket[]).length > 0 ? 'performance_schema' : undefined;
}

/** Tables of `schema` on which connection `thread` holds a granted exclusive metadata lock. */
export async function exclusiveTables(conn: Connection, source: MetadataLockSource, thread: number, schema: string): Promise<Set<string>> {
  const [rows] = source === 'metadata_lock_info'
    ? await conn.query<RowDataPacket[]>(
      `SELECT TABLE_NAME AS name FROM information_schema.METADATA_LOCK_INFO
        WHERE THREAD_ID = ? AND TABLE_SCHEMA = ? AND LOCK_MODE = 'MDL_EXCLUSIVE' AND LOCK_TYPE = 'Table metadata lock'`, [thread, schema])
    : await conn.query<RowDataPacket[]>(
      `SELECT ml.OBJECT_NAME AS name FROM performance_schema.metadata_locks ml
         JOIN performance_schema.threads t ON t.THREAD_ID = ml.OWNER_THREAD_ID
        WHERE t.PROCESSLIST_ID = ? AND ml.OBJECT_SCHEMA = ? AND ml.OBJECT_TYPE = 'TABLE'
          AND ml.LOCK_TYPE = 'EXCLUSIVE' AND ml.LOCK_STATUS = 'GRANTED'`, [thread, schema]);
  return new Set(rows.map((r) => String(r.name)));
}

/**
 * The order in which the server takes a statement's metadata locks (byte order of the names, a
 * name before any longer name it is a prefix of; lower-cased when the server stores names so).
 */
export function lockOrder(lowerCaseNames: boolean): (a: string, b: string) => number {
  const key = (name: string) => Buffer.from(`${lowerCaseNames ? name.toLowerCase() : name}\0`);
  return (a, b) => Buffer.compare(key(a), key(b));
}

export interface LockHolder {
  thread: number;
  user: string;
  /** How long its transaction has been open, or its statement running, in seconds. */
  seconds: number;
  /** The table it holds, when the server says. */
  table?: string;
}

/**
 * Connections that keep a cut-over from taking `tables`: exactly those holding metadata locks on
 * them when the server shows metadata locks, otherwise the oldest open transactions (the likely ones).
 */
export async function lockHolders(conn: Connection, source: MetadataLockSource | undefined, schema: string, tables: string[],
  exclude: number[]): Promise<LockHolder[]> {
  const skip = exclude.length > 0 ? exclude : [0];
  if (source === 'metadata_lock_info') {
    const [rows] = await conn.query<RowDataPacket[]>(
      `SELECT DISTINCT m.THREAD_ID AS thread, p.USER AS user, p.TIME AS seconds, m.TABLE_NAME AS tbl
         FROM information_schema.METADATA_LOCK_INFO m JOIN information_schema.PROCESSLIST p ON p.ID = m.THREAD_ID
        WHERE m.TABLE_SCHEMA = ? AND m.TABLE_NAME IN (?) AND m.THREAD_ID NOT IN (?) ORDER BY p.TIME DESC LIMIT 5`,
      [schema, tables, skip]);
    return rows.map((r) => ({ thread: Number(r.thread), user: String(r.user), seconds: Number(r.seconds), table: String(r.tbl) }));
  }
  const [rows] = await conn.query<RowDataPacket[]>(
    `SELECT p.ID AS thread, p.USER AS user, TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) AS seconds
       FROM information_schema.INNODB_TRX t JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
      WHERE t.trx_started < NOW() - INTERVAL 1 SECOND AND p.ID NOT IN (?) ORDER BY t.trx_started LIMIT 3`, [skip]);
  return rows.map((r) => ({ thread: Number(r.thread), user: String(r.user), seconds: Number(r.seconds) }));
}

export function describeHolders(holders: LockHolder[], exact: boolean): string {
  return holders.map((h) => `connection ${h.thread} (${h.user}, ${h.seconds} s${h.table ? `, holds \`${h.table}\`` : ''})`).join('; ')
    + (exact ? '' : ' (open transactions; which tables they hold is not visible without metadata_lock_info)');
}
