// A throwaway schema on a real server where the desired CREATE TABLEs are executed: the server
// validates them (errors come back with the file and line) and prints their canonical form.
import { randomBytes } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { quoteIdent } from '../db/quote.ts';
import type { SchemaFile, SchemaFileError } from './schema-files.ts';
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

/** Scratch work is nobody else's business: keep it off replicas when the account may (SUPER/BINLOG ADMIN). */
export async function keepOffBinlog(conn: Connection): Promise<void> {
  await conn.query('SET SESSION sql_log_bin = 0').catch(() => undefined);
}

export class Workspace {
  readonly schema = `_schemabot_ws_${randomBytes(4).toString('hex')}`;

  constructor(private readonly conn: Connection, private readonly defaults: SchemaDefaults) {}

  async create(): Promise<void> {
    await this.conn.query(`CREATE DATABASE ${quoteIdent(this.schema)} ${schemaDefaultsClause(this.defaults)}`);
    await this.conn.query(`USE ${quoteIdent(this.schema)}`);
    // Tables may reference each other in any order.
    await this.conn.query('SET SESSION foreign_key_checks = 0');
    // Statements from pull requests must not run for as long as their author likes (MariaDB; MySQL
    // has no such limit for DDL, where the refusal of queries in schema files is what holds).
    await this.conn.query('SET SESSION max_statement_time = 10').catch(() => undefined);
  }

  /** Executes each file's CREATE TABLE; a failure is reported at the file line the server names. */
  async load(files: SchemaFile[]): Promise<SchemaFileError[]> {
    const errors: SchemaFileError[] = [];
    for (const file of files) {
      try {
        await this.conn.query(file.sql);
      } catch (err) {
        const message = (err as Error).message;
        const at = /at line (\d+)\s*$/.exec(message);
        errors.push({ path: file.path, line: at ? Number(at[1]) : file.statementLine, message });
      }
    }
    return errors;
  }

  /** Runs a statement in the workspace (verification of generated ALTERs, algorithm probes). */
  async query(sql: string): Promise<void> {
    await this.conn.query(sql);
  }

  async drop(): Promise<void> {
    await this.conn.query(`DROP DATABASE IF EXISTS ${quoteIdent(this.schema)}`);
  }
}

/** Canonical models of the base tables of a schema (helper tables of migrations excluded). */
export async function readModels(conn: Connection, schema: string): Promise<Map<string, TableModel>> {
  const [tables] = await conn.query<RowDataPacket[]>(
    `SELECT TABLE_NAME FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')
        AND TABLE_NAME NOT REGEXP '^_.*_(gho|ghc|del)$|__(gho|ghc|old|rev)$|__dropped[0-9]+$' ORDER BY TABLE_NAME`, [schema]);
  const models = new Map<string, TableModel>();
  for (const { TABLE_NAME: name } of tables) {
    const [[row]] = await conn.query<RowDataPacket[]>(`SHOW CREATE TABLE ${quoteIdent(schema)}.${quoteIdent(name)}`);
    models.set(name, parseCreateTable(row['Create Table']));
  }
  return models;
}
