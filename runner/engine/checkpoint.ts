// What a migration records so that it can resume exactly, and the port it records it through. The
// runner's queue stores it in the `_schemabot` schema (runner/queue/state-store.ts, `checkpointPort`); the one-shot
// `schemabot migrate` records nothing. Each call runs on the engine's own connection, inside the
// transaction that wrote the rows it describes, and throws MigrationInterrupted when this runner no
// longer owns the migration (fencing): the transaction then rolls back with its rows.
import type { Connection } from 'mysql2/promise';
import type { BinlogPosition } from './binlog-streamer.ts';
import type { DeferredIndexes } from './deferred-indexes.ts';
import type { KeyValues } from './key-sql.ts';

export interface CopyProgress {
  /** The last key copied; absent before the first chunk. */
  lastKey?: KeyValues;
  rowsCopied: number;
  done: boolean;
}

/** How a fresh start made the shadow table: what a resume must find to trust it. */
export interface HelperState {
  /** The ALTER clauses the shadow table was made with. */
  alter: string;
  /** SHOW CREATE TABLE of the shadow table right after the ALTER: its final form. */
  shadowDefinition: string;
  /** SHOW CREATE TABLE while copying (secondary indexes deferred); equal to the final form when none are. */
  copyDefinition: string;
  deferred?: DeferredIndexes;
}

export interface ResumePoint {
  helpers: HelperState;
  copy: CopyProgress;
  /** Every change before this position is in the shadow table. */
  applied: BinlogPosition;
}

export interface CheckpointPort {
  /** A fresh start made its helper tables and starts streaming at `resume.applied`. */
  started(conn: Connection, resume: ResumePoint): Promise<void>;
  copied(conn: Connection, progress: CopyProgress): Promise<void>;
  applied(conn: Connection, position: BinlogPosition): Promise<void>;
}

/** Key values as JSON (binary keys as hex), and back. */
export function encodeKey(key: KeyValues): string {
  return JSON.stringify(key.map((v) => (Buffer.isBuffer(v) ? { hex: v.toString('hex') } : v)));
}

export function decodeKey(text: string): KeyValues {
  return (JSON.parse(text) as unknown[]).map((v) => (v && typeof v === 'object' && 'hex' in v ? Buffer.from(String(v.hex), 'hex') : v));
}
