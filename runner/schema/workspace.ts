// A throwaway schema on a real server where the desired CREATE TABLEs are executed: the server
// validates them (errors come back with the file and line) and prints their canonical form.
import { randomBytes } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { quoteIdent } from '../db/quote.ts';
import type { SchemaFile, SchemaFileError } from './schema-files.ts';
import { parseCreateTable, type TableModel } from './table-model.ts';

export class Workspace {
  readonly schema = `_schemabot_ws_${randomBytes(4).toString('hex')}`;

  constructor(private readonly conn: Connection) {}

  async create(): Promise<void> {
    await this.conn.query(`CREATE DATABASE ${quoteIdent(this.schema)} DEFAULT CHARACTER SET utf8mb4`);
    await this.conn.query(`USE ${quoteIdent(this.schema)}`);
    // Tables may reference each other in any order.
    await this.conn.query('SET SESSION foreign_key_checks = 0');
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
    `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'
        AND TABLE_NAME NOT REGEXP '^_.*_(gho|ghc|old)$' ORDER BY TABLE_NAME`, [schema]);
  const models = new Map<string, TableModel>();
  for (const { TABLE_NAME: name } of tables) {
    const [[row]] = await conn.query<RowDataPacket[]>(`SHOW CREATE TABLE ${quoteIdent(schema)}.${quoteIdent(name)}`);
    models.set(name, parseCreateTable(row['Create Table']));
  }
  return models;
}
