// A throwaway schema on a real server where the desired CREATE TABLEs are executed: the server
// validates them (errors come back with the file and line) and prints their canonical form.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { quoteIdent } from '../db/quote.ts';
import { isConnectionLoss } from '../db/mysql-errors.ts';
import { HELPER_TABLE_REGEXP } from './helper-tables.ts';
import { lineOfError, type SchemaFile, type SchemaFileError } from './schema-files.ts';
import { STATEMENT_SECONDS } from './workspace-account.ts';
import { parseCreateTable, type TableModel } from './table-model.ts';

export interface SchemaDefaults {
  charset: string;
  collation: string;
}

/** The live schema's default character set and collation: files that name none inherit them. */
export async function readSchemaDefaults(conn: Connection, schema: string): Promise<SchemaDefaults> {
  const [rows] = await conn.query<RowDataPacket[]>(
    'SELECT DEFAULT_CHARACTER_SET_NAME AS cs, DEFAULT_COLLATION_NAME AS co FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [schema]);
  if (rows.length === 0) throw new Error(`database \`${schema}\` does not exist`);
  return { charset: rows[0].cs, collation: rows[0].co };
}

export function schemaDefaultsClause(defaults: SchemaDefaults): string {
  return `DEFAULT CHARACTER SET ${defaults.charset} COLLATE ${defaults.collation}`;
}

/**
 * Scratch work is nobody else's business: keep it off replicas when the account may (SUPER/BINLOG
 * ADMIN). Says whether the connection's statements stay out of the binlog.
 */
export async function keepOffBinlog(conn: Connection): Promise<boolean> {
  await conn.query('SET SESSION sql_log_bin = 0').catch(() => undefined);
  const [[row]] = await conn.query<RowDataPacket[]>('SELECT @@global.log_bin AS on_, @@session.sql_log_bin AS session');
  return Number(row.on_) === 0 || Number(row.session) === 0;
}

/**
 * A schema the desired CREATE TABLEs are executed in, on its own connection (the workspace account's
 * when there is one). The connection creates and drops the schema itself, so the schema's DDL is
 * either all in the binlog or all out of it: a replica never sees a table of a schema it lacks.
 */
/**
 * Each statement has its time limit; this bounds them all, so a pull request of many slow files
 * (thousands of partitions each) cannot hold a plan for hours. Files past it are errors, which keep
 * their tables from being dropped like any file that does not load.
 */
const LOAD_BUDGET_MS = 60_000;

export class Workspace {
  private constructor(private conn: Connection, readonly schema: string, private readonly reopen: () => Promise<Connection>) {}

  static async open(schema: string, defaults: SchemaDefaults, open: () => Promise<Connection>): Promise<Workspace> {
    const workspace = new Workspace(await open(), schema, open);
    await workspace.conn.query(`CREATE DATABASE ${quoteIdent(schema)} ${schemaDefaultsClause(defaults)}`);
    await workspace.prepare();
    return workspace;
  }

  private async prepare(): Promise<void> {
    await keepOffBinlog(this.conn);
    await this.conn.query(`USE ${quoteIdent(this.schema)}`);
    // Tables may reference each other in any order.
    await this.conn.query('SET SESSION foreign_key_checks = 0');
    // Statements from pull requests must not run for as long as their author likes (MariaDB; MySQL
    // has no such limit for DDL, where the refusal of queries in schema files is what holds).
    await this.conn.query(`SET SESSION max_statement_time = ${STATEMENT_SECONDS}`).catch(() => undefined);
  }

  /**
   * Executes each file's CREATE TABLE; a failure is reported at the file line the server names. A
   * file that costs the connection (the server closes it) fails alone: the next file gets a new one.
   */
  async load(files: SchemaFile[], budgetMs = LOAD_BUDGET_MS): Promise<SchemaFileError[]> {
    const errors: SchemaFileError[] = [];
    const deadline = Date.now() + budgetMs;
    for (const file of files) {
      if (Date.now() > deadline) {
        errors.push({ path: file.path, line: 1, message: `not loaded: loading the schema files took more than ${budgetMs / 1000} s in all `
          + `(each statement may take ${STATEMENT_SECONDS} s); make the slow definitions simpler or split the pull request` });
        continue;
      }
      try {
        await this.conn.query(file.sql);
      } catch (err) {
        const message = (err as Error).message;
        errors.push({ path: file.path, line: lineOfError(file, message), message });
        if (isConnectionLoss(err)) {
          this.conn.destroy();
          this.conn = await this.reopen();
          await this.prepare();
        }
      }
    }
    return errors;
  }

  async models(): Promise<Map<string, TableModel>> {
    return readModels(this.conn, this.schema);
  }

  async drop(): Promise<void> {
    try {
      await this.conn.query(`DROP DATABASE IF EXISTS ${quoteIdent(this.schema)}`);
    } finally {
      await this.conn.end().catch(() => undefined);
    }
  }
}

/** Canonical models of the base tables of a schema (helper tables of migrations excluded). */
export async function readModels(conn: Connection, schema: string): Promise<Map<string, TableModel>> {
  const [tables] = await conn.query<RowDataPacket[]>(
    `SELECT TABLE_NAME FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')
        AND TABLE_NAME NOT REGEXP ? ORDER BY TABLE_NAME`, [schema, HELPER_TABLE_REGEXP]);
  const models = new Map<string, TableModel>();
  for (const { TABLE_NAME: name } of tables) {
    const [[row]] = await conn.query<RowDataPacket[]>(`SHOW CREATE TABLE ${quoteIdent(schema)}.${quoteIdent(name)}`);
    models.set(name, parseCreateTable(row['Create Table']));
  }
  return models;
}
