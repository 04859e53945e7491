// Checks that must pass before anything is created. Each failure names what is wrong and how to fix it.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { dropSentry } from './cut-over.ts';
import { MigrationRefused } from './errors.ts';
import { mysqlErrno } from '../db/mysql-errors.ts';
import { listForeignKeys, listTriggers, tableExists } from '../db/table-info.ts';
import type { TableNames } from './table-names.ts';

const REQUIRED_BINLOG: Array<[string, string, string]> = [
  ['log_bin', 'ON', 'start the server with --log-bin'],
  ['binlog_format', 'ROW', 'SET GLOBAL binlog_format = ROW'],
  ['binlog_row_image', 'FULL', 'SET GLOBAL binlog_row_image = FULL'],
  // Without full metadata the stream would label columns from the live schema (wrong across an ALTER).
  ['binlog_row_metadata', 'FULL', 'SET GLOBAL binlog_row_metadata = FULL (MariaDB 10.5+, MySQL 8.0.14+)'],
];

export async function checkBinlog(conn: Connection): Promise<void> {
  const [rows] = await conn.query<RowDataPacket[]>(
    `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${REQUIRED_BINLOG.map(() => '?').join(', ')})`,
    REQUIRED_BINLOG.map(([name]) => name));
  const values = new Map(rows.map((r) => [String(r.Variable_name), String(r.Value).toUpperCase()]));
  for (const [name, expected, fix] of REQUIRED_BINLOG) {
    const actual = values.get(name);
    if (actual !== expected) {
      throw new MigrationRefused(`${name} is ${actual ?? 'not supported by this server'}, must be ${expected}: ${fix}`);
    }
  }
  // Reading the binlog needs its own privileges: say so now, not after the copy has begun.
  try {
    await conn.query('SHOW BINARY LOGS');
  } catch (err) {
    if (mysqlErrno(err) !== 1227) throw err;
    throw new MigrationRefused('the account cannot read the binlog: GRANT REPLICATION CLIENT, REPLICATION SLAVE ON *.* '
      + '(on MariaDB 10.5+: BINLOG MONITOR, REPLICATION SLAVE) to it');
  }
}

export async function checkTable(conn: Connection, names: TableNames): Promise<void> {
  if (!(await tableExists(conn, names.schema, names.original))) {
    throw new MigrationRefused(`table \`${names.schema}\`.\`${names.original}\` does not exist`);
  }
  const [[kind]] = await conn.query<RowDataPacket[]>(
    'SELECT TABLE_TYPE AS type, ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [names.schema, names.original]);
  if (kind.type !== 'BASE TABLE') {
    throw new MigrationRefused(`\`${names.original}\` is a ${String(kind.type).toLowerCase()}, not a table: alter a view with CREATE OR REPLACE VIEW`);
  }
  // Row locks and consistent snapshots are what make the copy and the verification exact.
  if (String(kind.engine).toUpperCase() !== 'INNODB') {
    throw new MigrationRefused(`\`${names.original}\` uses ${kind.engine}, not InnoDB: an online copy needs row locks and `
      + 'consistent snapshots (convert it with a native ALTER ... ENGINE=InnoDB in a quiet moment)');
  }
  // A sentry left by a cut-over that died is empty and ours: remove it.
  await dropSentry(conn, names);
  if (await tableExists(conn, names.schema, names.old)) {
    throw new MigrationRefused(`\`${names.old}\` exists (the original table kept by an earlier migration, for revert): `
      + `drop it once that migration no longer needs reverting`);
  }
  const triggers = await listTriggers(conn, names.schema, names.original);
  if (triggers.length > 0) {
    throw new MigrationRefused(`table has triggers (${triggers.join(', ')}): they would not follow the rows to the new table`);
  }
  const fks = await listForeignKeys(conn, names.schema, names.original);
  if (fks.length > 0) {
    throw new MigrationRefused(`table has foreign keys (${fks.join(', ')}): a table swap would break or orphan them`);
  }
}
