// All SQL on the runner's durable state, kept in the target server's `_schemabot` schema: deploys,
// their migrations, the append-only event log, checkpoints, and tables kept for revert or retention.
// A transition is an UPDATE whose WHERE names the states it may leave (0 rows: it does not apply),
// and every write by a worker names its lease token, so a runner that lost its lease changes nothing.
import { isDeepStrictEqual } from 'node:util';
import mysql, { type Pool, type PoolConnection, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import { losslessOptions } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { quoteIdent } from '../db/quote.ts';
import type { BinlogPosition } from '../engine/binlog-streamer.ts';
import { decodeKey, encodeKey, type CheckpointPort, type CopyProgress, type ResumePoint } from '../engine/checkpoint.ts';
import { MigrationInterrupted } from '../engine/errors.ts';
import { isRetryable } from '../db/mysql-errors.ts';
import { backoff } from '../engine/retry.ts';
import type { ProgressSnapshot } from '../engine/progress.ts';
import {
  ACTIVE_STATES, BadInput, NotFound, WrongState, type ChangeMethod, type CutoverMode, type DeployCommand, type DeployEvent, type DeployState,
  type DeployView, type ListFilter, type MigrationStage, type MigrationView,
} from './deploy-model.ts';

/** The `external` object is the client's bookkeeping (ids of its comments, check runs…), not a document store. */
const MAX_EXTERNAL_BYTES = 16 * 1024;

export interface NewMigration {
  table: string;
  method: ChangeMethod;
  statement: string;
  /** ALTER clauses, for `direct` and `online`. */
  alter?: string;
  algorithm?: string;
  /** SHOW CREATE TABLE of the table as it will be (absent for drops). */
  definition?: string;
}

export interface NewDeploy {
  clientKey: string;
  cutover: CutoverMode;
  cutoverAfter?: Date;
  external: Record<string, unknown>;
  submittedBy: string;
  migrations: NewMigration[];
}

/** A deploy row with the worker's intents, as the worker reads it. */
export interface DeployRow {
  id: number;
  state: DeployState;
  cutover: CutoverMode;
  cutoverAfter?: Date;
  cutoverRequestedBy?: string;
  paused: boolean;
  pausedBy?: string;
  abortRequestedBy?: string;
  revertRequestedBy?: string;
  leaseToken: number;
  /** Completed reverts: odd while the deploy stands reverted. */
  reverts: number;
}

export interface MigrationRow extends NewMigration {
  id: number;
  seq: number;
  stage: MigrationStage;
  cutoverPosition?: BinlogPosition;
}

/** Which states each command applies in, and what it records. */
const COMMANDS: Record<DeployCommand, { from: DeployState[]; set: string }> = {
  cutover: { from: ['ready-to-cutover'], set: 'cutover_requested_by = ?' },
  pause: { from: ['queued', 'running', 'ready-to-cutover'], set: 'paused_by = ?' },
  resume: { from: ['queued', 'running', 'ready-to-cutover'], set: 'paused_by = NULL' },
  // Until the swap is done: a cut-over waiting on locks can still be called off.
  abort: { from: ['queued', 'running', 'ready-to-cutover', 'cutting-over'], set: 'abort_requested_by = ?' },
  revert: { from: ['complete', 'reverted'], set: "revert_requested_by = ?, state = 'reverting'" },
};

const iso = (d: unknown): string => (d instanceof Date ? d : new Date(`${String(d).replace(' ', 'T')}Z`)).toISOString();

export class StateStore {
  private readonly pool: Pool;
  private readonly s: string;

  constructor(readonly target: ConnectionTarget, readonly schema = '_schemabot') {
    this.pool = mysql.createPool({ ...losslessOptions(target), connectionLimit: 4, database: undefined });
    // Stored times are UTC, whatever the server's zone.
    this.pool.pool.on('connection', (conn) => { conn.query("SET SESSION time_zone = '+00:00'"); });
    this.s = quoteIdent(schema);
  }

  get database(): string {
    return this.target.database;
  }

  /** The tables, created when missing (the account needs CREATE on the state schema). */
  async ensureSchema(): Promise<void> {
    const s = this.s;
    await this.pool.query(`CREATE DATABASE IF NOT EXISTS ${s} DEFAULT CHARACTER SET utf8mb4`);
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${s}.deploys (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      client_key VARCHAR(200) NOT NULL,
      database_name VARCHAR(64) NOT NULL,
      state VARCHAR(20) NOT NULL,
      cutover_mode VARCHAR(8) NOT NULL,
      cutover_after DATETIME(3) NULL,
      cutover_requested_by VARCHAR(255) NULL,
      paused_by VARCHAR(255) NULL,
      abort_requested_by VARCHAR(255) NULL,
      revert_requested_by VARCHAR(255) NULL,
      external LONGTEXT NOT NULL,
      submitted_by VARCHAR(255) NOT NULL,
      error TEXT NULL,
      owner VARCHAR(100) NULL,
      lease_token BIGINT UNSIGNED NOT NULL DEFAULT 0,
      reverts INT NOT NULL DEFAULT 0,
      created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      UNIQUE KEY uk_client_key (database_name, client_key),
      KEY idx_state (state)
    ) ENGINE=InnoDB`);
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${s}.migrations (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      deploy_id BIGINT UNSIGNED NOT NULL,
      seq INT NOT NULL,
      table_name VARCHAR(64) NOT NULL,
      method VARCHAR(10) NOT NULL,
      statement LONGTEXT NOT NULL,
      alter_clauses LONGTEXT NULL,
      algorithm VARCHAR(10) NULL,
      definition LONGTEXT NULL,
      stage VARCHAR(20) NOT NULL DEFAULT 'queued',
      rows_copied BIGINT NOT NULL DEFAULT 0,
      rows_total BIGINT NOT NULL DEFAULT 0,
      rows_per_second DOUBLE NOT NULL DEFAULT 0,
      binlog_rows_applied BIGINT NOT NULL DEFAULT 0,
      lag_ms INT NOT NULL DEFAULT 0,
      percent DOUBLE NOT NULL DEFAULT 0,
      eta_seconds INT NULL,
      throttle VARCHAR(255) NULL,
      blocker VARCHAR(255) NULL,
      error TEXT NULL,
      helpers LONGTEXT NULL,
      cutover_binlog_file VARCHAR(255) NULL,
      cutover_binlog_pos BIGINT UNSIGNED NULL,
      updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      UNIQUE KEY uk_deploy_seq (deploy_id, seq)
    ) ENGINE=InnoDB`);
    // One row per stream so that the copier and the applier never wait on each other's row lock.
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${s}.checkpoints (
      migration_id BIGINT UNSIGNED NOT NULL,
      stream VARCHAR(8) NOT NULL,
      fence BIGINT UNSIGNED NOT NULL,
      last_key LONGTEXT NULL,
      rows_copied BIGINT NOT NULL DEFAULT 0,
      done TINYINT NOT NULL DEFAULT 0,
      binlog_file VARCHAR(255) NULL,
      binlog_pos BIGINT UNSIGNED NULL,
      updated_at DATETIME(6) NOT NULL,
      PRIMARY KEY (migration_id, stream)
    ) ENGINE=InnoDB`);
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${s}.events (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      deploy_id BIGINT UNSIGNED NOT NULL,
      table_name VARCHAR(64) NULL,
      at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      actor VARCHAR(255) NOT NULL,
      kind VARCHAR(40) NOT NULL,
      message TEXT NOT NULL,
      KEY idx_deploy (deploy_id, id)
    ) ENGINE=InnoDB`);
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${s}.retained (
      database_name VARCHAR(64) NOT NULL,
      table_name VARCHAR(64) NOT NULL,
      original_name VARCHAR(64) NOT NULL,
      deploy_id BIGINT UNSIGNED NOT NULL,
      drop_after DATETIME(3) NOT NULL,
      PRIMARY KEY (database_name, table_name)
    ) ENGINE=InnoDB`);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  // --- deploys -------------------------------------------------------------------------------

  async deployIdByClientKey(clientKey: string): Promise<number | undefined> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT id FROM ${this.s}.deploys WHERE database_name = ? AND client_key = ?`, [this.database, clientKey]);
    return rows.length > 0 ? Number(rows[0].id) : undefined;
  }

  /** Inserts the deploy and its migrations; returns the existing id when the client key is taken. */
  async insertDeploy(deploy: NewDeploy): Promise<{ id: number; created: boolean }> {
    return this.transaction(async (conn) => {
      const [result] = await conn.query<ResultSetHeader>(
        `INSERT IGNORE INTO ${this.s}.deploys (client_key, database_name, state, cutover_mode, cutover_after, external, submitted_by)
         VALUES (?, ?, 'queued', ?, ?, ?, ?)`,
        [deploy.clientKey, this.database, deploy.cutover, deploy.cutoverAfter ?? null, JSON.stringify(deploy.external), deploy.submittedBy]);
      if (result.affectedRows === 0) {
        return { id: (await this.deployIdByClientKey(deploy.clientKey))!, created: false };
      }
      const id = result.insertId;
      for (const [seq, m] of deploy.migrations.entries()) {
        await conn.query(
          `INSERT INTO ${this.s}.migrations (deploy_id, seq, table_name, method, statement, alter_clauses, algorithm, definition)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          [id, seq, m.table, m.method, m.statement, m.alter ?? null, m.algorithm ?? null, m.definition ?? null]);
      }
      await this.insertEvent(conn, id, undefined, deploy.submittedBy, 'submitted',
        `${deploy.migrations.length} change(s), cut-over ${deploy.cutover}: ${deploy.migrations.map((m) => `${m.method} \`${m.table}\``).join(', ')}`);
      return { id, created: true };
    });
  }

  async deployRow(id: number): Promise<DeployRow> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT * FROM ${this.s}.deploys WHERE id = ? AND database_name = ?`, [id, this.database]);
    if (rows.length === 0) throw new NotFound(`no deploy ${id} on this target`);
    const r = rows[0];
    return {
      id: Number(r.id), state: r.state, cutover: r.cutover_mode, cutoverAfter: r.cutover_after ? new Date(iso(r.cutover_after)) : undefined,
      cutoverRequestedBy: r.cutover_requested_by ?? undefined, paused: r.paused_by !== null, pausedBy: r.paused_by ?? undefined,
      abortRequestedBy: r.abort_requested_by ?? undefined, revertRequestedBy: r.revert_requested_by ?? undefined,
      leaseToken: Number(r.lease_token), reverts: Number(r.reverts),
    };
  }

  async migrationRows(deployId: number): Promise<MigrationRow[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT * FROM ${this.s}.migrations WHERE deploy_id = ? ORDER BY seq`, [deployId]);
    return rows.map((r) => ({
      id: Number(r.id), seq: Number(r.seq), table: r.table_name, method: r.method, statement: r.statement,
      alter: r.alter_clauses ?? undefined, algorithm: r.algorithm ?? undefined, definition: r.definition ?? undefined, stage: r.stage,
      cutoverPosition: r.cutover_binlog_file ? { file: r.cutover_binlog_file, position: Number(r.cutover_binlog_pos) } : undefined,
    }));
  }

  async view(id: number, targetName: string): Promise<DeployView> {
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT * FROM ${this.s}.deploys WHERE id = ? AND database_name = ?`, [id, this.database]);
    if (rows.length === 0) throw new NotFound(`no deploy ${targetName}.${id}`);
    const [migrations] = await this.pool.query<RowDataPacket[]>(`SELECT * FROM ${this.s}.migrations WHERE deploy_id = ? ORDER BY seq`, [id]);
    return toView(rows[0], migrations, targetName);
  }

  async listViews(filter: ListFilter, targetName: string): Promise<DeployView[]> {
    const where = ['database_name = ?'];
    const params: unknown[] = [this.database];
    if (filter.states?.length) {
      where.push(`state IN (${filter.states.map(() => '?').join(', ')})`);
      params.push(...filter.states);
    }
    for (const [key, value] of Object.entries(filter.external ?? {})) {
      where.push('JSON_UNQUOTE(JSON_EXTRACT(external, ?)) = ?');
      params.push(`$.${JSON.stringify(key)}`, value);
    }
    const [matching] = await this.pool.query<RowDataPacket[]>(
      `SELECT * FROM ${this.s}.deploys WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`, [...params, Math.min(filter.limit ?? 100, 1000)]);
    if (matching.length === 0) return [];
    const [migrations] = await this.pool.query<RowDataPacket[]>(
      `SELECT * FROM ${this.s}.migrations WHERE deploy_id IN (?) ORDER BY deploy_id, seq`, [matching.map((r) => r.id)]);
    return matching.map((r) => toView(r, migrations.filter((m) => Number(m.deploy_id) === Number(r.id)), targetName));
  }

  /** Records a command's intent, if the deploy's state allows it; the worker acts on it. */
  async requestCommand(id: number, command: DeployCommand, actor: string): Promise<void> {
    const rule = COMMANDS[command];
    return this.transaction(async (conn) => {
      const [rows] = await conn.query<RowDataPacket[]>(
        `SELECT state FROM ${this.s}.deploys WHERE id = ? AND database_name = ? FOR UPDATE`, [id, this.database]);
      if (rows.length === 0) throw new NotFound(`no deploy ${id} on this target`);
      const state = rows[0].state as DeployState;
      if (!rule.from.includes(state)) {
        throw new WrongState(state, `cannot ${command} a deploy that is ${state} (${command} applies to: ${rule.from.join(', ')})`);
      }
      await conn.query(`UPDATE ${this.s}.deploys SET ${rule.set} WHERE id = ?`, rule.set.includes('?') ? [actor, id] : [id]);
      // Nobody is working on a queued deploy yet: aborting it needs no worker.
      if (command === 'abort' && state === 'queued') await conn.query(`UPDATE ${this.s}.deploys SET state = 'aborted' WHERE id = ?`, [id]);
      // A swap back records progress of its own, from the last cut-over on.
      if (command === 'revert') {
        await conn.query(`DELETE FROM ${this.s}.checkpoints WHERE migration_id IN (SELECT id FROM ${this.s}.migrations WHERE deploy_id = ?)`, [id]);
        await conn.query(`UPDATE ${this.s}.migrations SET helpers = NULL WHERE deploy_id = ?`, [id]);
      }
      await this.insertEvent(conn, id, undefined, actor, `${command}-requested`, `${command} requested by ${actor}`);
    });
  }

  /**
   * Merges `patch` into the deploy's `external` object (a null value removes its key), only if each
   * key of `expect` holds that value now (null: absent). Returns whether it applied and the object
   * as it stands. The check and the write share one transaction: two callers cannot both win.
   */
  async patchExternal(id: number, patch: Record<string, unknown>, expect: Record<string, unknown>): Promise<{ applied: boolean; external: Record<string, unknown> }> {
    return this.transaction(async (conn) => {
      const [rows] = await conn.query<RowDataPacket[]>(
        `SELECT external FROM ${this.s}.deploys WHERE id = ? AND database_name = ? FOR UPDATE`, [id, this.database]);
      if (rows.length === 0) throw new NotFound(`no deploy ${id} on this target`);
      const current = JSON.parse(rows[0].external) as Record<string, unknown>;
      const matches = Object.entries(expect).every(([key, value]) => isDeepStrictEqual(current[key] ?? null, value));
      if (!matches) {
        return { applied: false, external: current };
      }
      const merged = { ...current };
      for (const [key, value] of Object.entries(patch)) {
        if (value === null) delete merged[key];
        else merged[key] = value;
      }
      const text = JSON.stringify(merged);
      if (Buffer.byteLength(text) > MAX_EXTERNAL_BYTES) throw new BadInput(`external metadata would grow past ${MAX_EXTERNAL_BYTES} bytes`);
      // updated_at tracks the deploy's progress, not its metadata.
      await conn.query(`UPDATE ${this.s}.deploys SET external = ?, updated_at = updated_at WHERE id = ?`, [text, id]);
      return { applied: true, external: merged };
    });
  }

  /** Deploys after `id` that changed any of `tables` (and did not fail): they make `id` no longer the last. */
  async laterDeploysOn(id: number, tables: string[]): Promise<number[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT DISTINCT d.id FROM ${this.s}.deploys d JOIN ${this.s}.migrations m ON m.deploy_id = d.id
        WHERE d.database_name = ? AND d.id > ? AND m.table_name IN (?) AND d.state NOT IN ('failed', 'aborted')`,
      [this.database, id, tables]);
    return rows.map((r) => Number(r.id));
  }

  async activeDeployIds(): Promise<number[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT id FROM ${this.s}.deploys WHERE database_name = ? AND state IN (?) ORDER BY id`, [this.database, ACTIVE_STATES]);
    return rows.map((r) => Number(r.id));
  }

  // --- leases --------------------------------------------------------------------------------

  /**
   * Makes `owner` the deploy's owner with a new fencing token, and stamps the token on every
   * checkpoint of the deploy: from now on only this owner's checkpoint transactions commit. The
   * caller already holds the deploy's GET_LOCK, so no other live runner is doing the same. Undefined
   * when the deploy is no longer active.
   */
  async takeLease(id: number, owner: string): Promise<number | undefined> {
    return this.transaction(async (conn) => {
      const [taken] = await conn.query<ResultSetHeader>(
        `UPDATE ${this.s}.deploys SET owner = ?, lease_token = lease_token + 1 WHERE id = ? AND state IN (?)`, [owner, id, ACTIVE_STATES]);
      // It ended between listing and claiming: nothing to do.
      if (taken.affectedRows === 0) {
        return undefined;
      }
      const [[row]] = await conn.query<RowDataPacket[]>(`SELECT lease_token FROM ${this.s}.deploys WHERE id = ?`, [id]);
      const token = Number(row.lease_token);
      await conn.query(`UPDATE ${this.s}.checkpoints c JOIN ${this.s}.migrations m ON m.id = c.migration_id
        SET c.fence = ? WHERE m.deploy_id = ?`, [token, id]);
      return token;
    });
  }

  /** The lock name that makes one runner at a time work on a deploy (held on a dedicated connection). */
  deployLockName(id: number): string {
    return `schemabot:deploy:${this.schema}:${this.database}:${id}`.slice(0, 64);
  }

  /** Moves the deploy to `state` if this runner still holds the lease; MigrationInterrupted otherwise. */
  async setDeployState(id: number, token: number, state: DeployState, actor: string, kind: string, message: string,
    error?: string, revertDone = false): Promise<void> {
    await this.fenced(id, token, async (conn) => {
      await conn.query(`UPDATE ${this.s}.deploys SET state = ?, error = ?, reverts = reverts + ?${state === 'reverting' ? '' : ', revert_requested_by = NULL'}
        WHERE id = ?`, [state, error ?? null, revertDone ? 1 : 0, id]);
      await this.insertEvent(conn, id, undefined, actor, kind, message);
    });
  }

  /**
   * Moves a ready deploy to `cutting-over`, unless it is paused: decided under the deploy's row lock,
   * so a pause and a cut-over never cross (the later one of the two waits, or is refused).
   */
  async startCutOver(id: number, token: number, actor: string, message: string): Promise<boolean> {
    let started = false;
    await this.fenced(id, token, async (conn) => {
      const [result] = await conn.query<ResultSetHeader>(`UPDATE ${this.s}.deploys SET state = 'cutting-over', error = NULL,
        revert_requested_by = NULL WHERE id = ? AND paused_by IS NULL`, [id]);
      started = result.affectedRows === 1;
      if (started) await this.insertEvent(conn, id, undefined, actor, 'cutover-started', message);
    });
    return started;
  }

  /** Marks every migration the deploy had not finished as `stage`, with the reason. */
  async endUnfinishedMigrations(deployId: number, token: number, stage: 'failed' | 'aborted', error: string): Promise<void> {
    await this.fenced(deployId, token, async (conn) => {
      await conn.query(`UPDATE ${this.s}.migrations SET stage = ?, error = ?, eta_seconds = NULL
        WHERE deploy_id = ? AND stage NOT IN ('complete', 'reverted')`, [stage, error, deployId]);
    });
  }

  async setMigrationStage(deployId: number, token: number, migration: MigrationRow, stage: MigrationStage, actor: string,
    message?: string, error?: string): Promise<void> {
    await this.fenced(deployId, token, async (conn) => {
      await conn.query(`UPDATE ${this.s}.migrations SET stage = ?, error = ?${stage === 'complete' ? ', percent = 100, eta_seconds = NULL, throttle = NULL, blocker = NULL' : ''}
        WHERE id = ?`, [stage, error ?? null, migration.id]);
      if (message) await this.insertEvent(conn, deployId, migration.table, actor, stage, message);
    });
    migration.stage = stage;
  }

  /** Progress is informational: written without a transition, but only by the lease holder. */
  async saveProgress(migrationId: number, token: number, p: ProgressSnapshot & { blocker?: string }): Promise<void> {
    await this.pool.query(`UPDATE ${this.s}.migrations m JOIN ${this.s}.deploys d ON d.id = m.deploy_id
      SET m.stage = IF(? IN ('preparing', 'complete') OR m.stage IN ('complete', 'reverted', 'failed', 'aborted'), m.stage, ?), m.rows_copied = ?, m.rows_total = ?, m.rows_per_second = ?, m.binlog_rows_applied = ?, m.lag_ms = ?, m.percent = ?,
          m.eta_seconds = ?, m.throttle = ?, m.blocker = ?
      WHERE m.id = ? AND d.lease_token = ?`,
    [p.state, p.state, p.rowsCopied, p.rowsTotal, p.rowsPerSecond, p.binlogRowsApplied, Math.min(p.lagMs, 2 ** 31 - 1), p.percent,
      p.etaSeconds === undefined ? null : Math.round(p.etaSeconds), p.throttle?.slice(0, 255) ?? null, p.blocker?.slice(0, 255) ?? null,
      migrationId, token]);
  }

  async addEvent(deployId: number, table: string | undefined, actor: string, kind: string, message: string): Promise<void> {
    await this.insertEvent(this.pool, deployId, table, actor, kind, message);
  }

  private async insertEvent(conn: Pick<Pool, 'query'> | PoolConnection, deployId: number, table: string | undefined, actor: string,
    kind: string, message: string): Promise<void> {
    await conn.query(`INSERT INTO ${this.s}.events (deploy_id, table_name, actor, kind, message) VALUES (?, ?, ?, ?, ?)`,
      [deployId, table ?? null, actor.slice(0, 255), kind.slice(0, 40), message]);
  }

  async events(id: number, targetName: string): Promise<DeployEvent[]> {
    await this.deployRow(id);
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT * FROM ${this.s}.events WHERE deploy_id = ? ORDER BY id`, [id]);
    return rows.map((r) => ({
      id: Number(r.id), deployId: `${targetName}.${id}`, table: r.table_name ?? undefined, at: iso(r.at), actor: r.actor, kind: r.kind,
      message: r.message,
    }));
  }

  private async transaction<T>(work: (conn: PoolConnection) => Promise<T>): Promise<T> {
    const conn = await this.pool.getConnection();
    try {
      await conn.query('BEGIN');
      const result = await work(conn);
      await conn.query('COMMIT');
      return result;
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      conn.release();
    }
  }

  /** Runs `work` in a transaction that first proves (and locks) this runner's lease. */
  private async fenced(id: number, token: number, work: (conn: PoolConnection) => Promise<void>): Promise<void> {
    const conn = await this.pool.getConnection();
    try {
      await retryingTransaction(conn, async () => {
        const [rows] = await conn.query<RowDataPacket[]>(`SELECT lease_token FROM ${this.s}.deploys WHERE id = ? FOR UPDATE`, [id]);
        if (rows.length === 0 || Number(rows[0].lease_token) !== token) {
          throw new MigrationInterrupted(`deploy ${id} is now owned by another runner`);
        }
        await work(conn);
      });
    } finally {
      conn.release();
    }
  }

  // --- checkpoints ---------------------------------------------------------------------------

  async resumePoint(migrationId: number): Promise<ResumePoint | undefined> {
    const [[migration]] = await this.pool.query<RowDataPacket[]>(`SELECT helpers FROM ${this.s}.migrations WHERE id = ?`, [migrationId]);
    const [rows] = await this.pool.query<RowDataPacket[]>(`SELECT * FROM ${this.s}.checkpoints WHERE migration_id = ?`, [migrationId]);
    const copy = rows.find((r) => r.stream === 'copy');
    const apply = rows.find((r) => r.stream === 'apply');
    if (!migration?.helpers || !copy || !apply) return undefined;
    return {
      helpers: JSON.parse(migration.helpers),
      copy: { lastKey: copy.last_key ? decodeKey(copy.last_key) : undefined, rowsCopied: Number(copy.rows_copied), done: Boolean(copy.done) },
      applied: { file: apply.binlog_file, position: Number(apply.binlog_pos) },
    };
  }

  /** Records progress through the engine's own connection and transaction, fenced by `token`. */
  checkpointPort(migrationId: number, token: number): CheckpointPort {
    const s = this.s;
    const fencedUpdate = async (conn: Parameters<CheckpointPort['applied']>[0], sql: string, params: unknown[]) => {
      const [result] = await conn.query<ResultSetHeader>(sql, params);
      if (result.affectedRows !== 1) throw new MigrationInterrupted('another runner took this migration over; stopping without writing');
    };
    return {
      async started(conn, resume: ResumePoint) {
        await retryingTransaction(conn, async () => {
          await conn.query(`UPDATE ${s}.migrations SET helpers = ? WHERE id = ?`, [JSON.stringify(resume.helpers), migrationId]);
          await conn.query(`INSERT INTO ${s}.checkpoints (migration_id, stream, fence, last_key, rows_copied, done, binlog_file, binlog_pos, updated_at)
            VALUES (?, 'copy', ?, NULL, ?, ?, NULL, NULL, NOW(6)), (?, 'apply', ?, NULL, 0, 0, ?, ?, NOW(6))
            ON DUPLICATE KEY UPDATE fence = VALUES(fence), last_key = VALUES(last_key), rows_copied = VALUES(rows_copied),
              done = VALUES(done), binlog_file = VALUES(binlog_file), binlog_pos = VALUES(binlog_pos), updated_at = VALUES(updated_at)`,
          [migrationId, token, resume.copy.rowsCopied, resume.copy.done ? 1 : 0, migrationId, token, resume.applied.file, resume.applied.position]);
        });
      },
      async copied(conn, progress: CopyProgress) {
        await fencedUpdate(conn, `UPDATE ${s}.checkpoints SET last_key = ?, rows_copied = ?, done = ?, updated_at = NOW(6)
          WHERE migration_id = ? AND stream = 'copy' AND fence = ?`,
        [progress.lastKey ? encodeKey(progress.lastKey) : null, progress.rowsCopied, progress.done ? 1 : 0, migrationId, token]);
      },
      async applied(conn, position: BinlogPosition) {
        await fencedUpdate(conn, `UPDATE ${s}.checkpoints SET binlog_file = ?, binlog_pos = ?, updated_at = NOW(6)
          WHERE migration_id = ? AND stream = 'apply' AND fence = ?`, [position.file, position.position, migrationId, token]);
      },
    };
  }

  async saveCutoverPosition(deployId: number, token: number, migrationId: number, position: BinlogPosition): Promise<void> {
    await this.fenced(deployId, token, async (conn) => {
      await conn.query(`UPDATE ${this.s}.migrations SET cutover_binlog_file = ?, cutover_binlog_pos = ? WHERE id = ?`,
        [position.file, position.position, migrationId]);
    });
  }

  // --- retained tables -----------------------------------------------------------------------

  async retain(deployId: number, table: string, original: string, dropAfter: Date): Promise<void> {
    await this.pool.query(`REPLACE INTO ${this.s}.retained (database_name, table_name, original_name, deploy_id, drop_after)
      VALUES (?, ?, ?, ?, ?)`, [this.database, table, original, deployId, dropAfter]);
  }

  async retainedFor(table: string): Promise<{ deployId: number } | undefined> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT deploy_id FROM ${this.s}.retained WHERE database_name = ? AND table_name = ?`, [this.database, table]);
    return rows.length > 0 ? { deployId: Number(rows[0].deploy_id) } : undefined;
  }

  async expiredRetained(): Promise<Array<{ table: string; deployId: number }>> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT table_name, deploy_id FROM ${this.s}.retained WHERE database_name = ? AND drop_after <= NOW(3)`, [this.database]);
    return rows.map((r) => ({ table: r.table_name, deployId: Number(r.deploy_id) }));
  }

  async forgetRetained(table: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.s}.retained WHERE database_name = ? AND table_name = ?`, [this.database, table]);
  }
}

/**
 * One READ COMMITTED transaction (no gap locks between concurrent migrations' rows), retried on
 * deadlock or lock-wait timeout.
 */
async function retryingTransaction(conn: Pick<PoolConnection, 'query'>, work: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await conn.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED');
      await conn.query('BEGIN');
      await work();
      await conn.query('COMMIT');
      return;
    } catch (err) {
      await conn.query('ROLLBACK').catch(() => undefined);
      if (!isRetryable(err) || attempt >= 10) throw err;
      await backoff(attempt);
    }
  }
}

function toView(r: RowDataPacket, migrations: RowDataPacket[], targetName: string): DeployView {
  const views: MigrationView[] = migrations.map((m) => ({
    id: Number(m.id), table: m.table_name, method: m.method, statement: m.statement, algorithm: m.algorithm ?? undefined,
    stage: m.stage, rowsCopied: Number(m.rows_copied), rowsTotal: Number(m.rows_total), percent: Number(m.percent),
    rowsPerSecond: Number(m.rows_per_second), binlogRowsApplied: Number(m.binlog_rows_applied), lagMs: Number(m.lag_ms),
    throttle: m.throttle ?? undefined, blocker: m.blocker ?? undefined,
    etaSeconds: m.eta_seconds === null ? undefined : Number(m.eta_seconds), error: m.error ?? undefined,
  }));
  const online = views.filter((m) => m.method === 'online');
  const state = r.state as DeployState;
  const past = ['ready-to-cutover', 'cutting-over', 'complete', 'reverting', 'reverted'].includes(state);
  const etas = online.map((m) => m.etaSeconds).filter((e): e is number => e !== undefined);
  return {
    id: `${targetName}.${r.id}`, target: targetName, database: r.database_name, state, cutover: r.cutover_mode,
    cutoverAfter: r.cutover_after ? iso(r.cutover_after) : undefined, paused: r.paused_by !== null,
    cutoverRequestedBy: r.cutover_requested_by ?? undefined, clientKey: r.client_key,
    external: JSON.parse(r.external), submittedBy: r.submitted_by, createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
    error: r.error ?? undefined,
    percent: past || online.length === 0 ? (past ? 100 : 0) : online.reduce((sum, m) => sum + m.percent, 0) / online.length,
    etaSeconds: past || etas.length === 0 ? undefined : Math.max(...etas),
    migrations: views,
  };
}
