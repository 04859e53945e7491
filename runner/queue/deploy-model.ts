// The durable vocabulary of the runner: deploys, their migrations, the event log, and the service
// that the HTTP API (runner/server) and the CLI verbs translate to. Everything here is stored in the
// target server's `_schemabot` schema (state-store.ts); nothing lives only in a runner's memory.
import type { ProgressSnapshot } from '../engine/progress.ts';
import type { Plan } from '../schema/planner.ts';

/** Lifecycle order matters: code compares positions (e.g. "at or past ready-to-cutover"). */
export const DEPLOY_STATES = [
  'queued', 'running', 'ready-to-cutover', 'cutting-over', 'complete', 'reverting', 'reverted', 'failed', 'aborted',
] as const;
export type DeployState = (typeof DEPLOY_STATES)[number];

/** A migration's stage within `running`, then the deploy-wide states it shares. */
export const MIGRATION_STAGES = [
  'queued', 'copying', 'building-indexes', 'catching-up', 'verifying', 'ready-to-cutover', 'cutting-over', 'complete',
  'reverting', 'reverted', 'failed', 'aborted',
] as const;
export type MigrationStage = (typeof MIGRATION_STAGES)[number];

/** States a deploy never leaves by itself (revert may still move `complete` on). */
export const FINAL_STATES: readonly DeployState[] = ['complete', 'reverted', 'failed', 'aborted'];

/** States in which a worker owns the deploy. */
export const ACTIVE_STATES: DeployState[] = DEPLOY_STATES.filter((s) => !FINAL_STATES.includes(s));

export type CutoverMode = 'auto' | 'gated';

/**
 * How one planned change runs: `create` and `direct` (INSTANT / INPLACE ALTERs) execute their
 * statement at cut-over time; `online` is a binlog-based migration; `drop` renames the table to a
 * retained name (dropped for real after the retention period).
 */
export type ChangeMethod = 'create' | 'direct' | 'online' | 'drop';

/** A migration as the API shows it: the engine's progress figures, stored once a second. */
export interface MigrationView extends Pick<ProgressSnapshot, 'rowsCopied' | 'rowsTotal' | 'percent' | 'rowsPerSecond'
  | 'binlogRowsApplied' | 'lagMs' | 'blocker'> {
  id: number;
  table: string;
  method: ChangeMethod;
  /** The full statement as planned (`ALTER TABLE …`, `CREATE TABLE …`, `DROP TABLE …`). */
  statement: string;
  /** INSTANT / INPLACE / COPY as the planner verified it; absent for CREATE/DROP. */
  algorithm?: string;
  stage: MigrationStage;
  throttle?: string;
  etaSeconds?: number;
  error?: string;
}

export interface DeployView {
  /** `<target>.<number>`: unique across the targets of one runner configuration. */
  id: string;
  target: string;
  database: string;
  state: DeployState;
  cutover: CutoverMode;
  /** ISO time before which an `auto` or released cut-over does not start. */
  cutoverAfter?: string;
  paused: boolean;
  /** Who released a gated cut-over (or forced an `auto` one before its time), once someone did. */
  cutoverRequestedBy?: string;
  clientKey: string;
  external: Record<string, unknown>;
  submittedBy: string;
  createdAt: string;
  updatedAt: string;
  error?: string;
  /** Overall progress over the online migrations (100 once ready). */
  percent: number;
  etaSeconds?: number;
  migrations: MigrationView[];
}

export interface DeployEvent {
  id: number;
  deployId: string;
  table?: string;
  at: string;
  /** Who caused it: a GitHub login, `runner:<id>`, `cli:<user>`… */
  actor: string;
  kind: string;
  message: string;
}

/** Names a client may give files: schema files, and the repository's lint configuration beside them. */
export const SCHEMA_FILE_NAME = /^(?:[A-Za-z0-9_.-]{1,128}\.sql|\.schemabot\.ya?ml)$/;

export interface SubmitRequest {
  target: string;
  /** Desired schema files (`name.sql` → contents): the runner plans them itself; no SQL is taken from the client. */
  files: Record<string, string>;
  /** Idempotency key: a second submit with the same key returns the first deploy. */
  clientKey: string;
  cutover?: CutoverMode;
  cutoverAfter?: string;
  external?: Record<string, unknown>;
  actor: string;
}

export interface PlanRequest {
  target: string;
  files: Record<string, string>;
  /** The base branch's files, for "what this PR changes" and drift. */
  baseFiles?: Record<string, string>;
}

export interface ListFilter {
  target?: string;
  states?: DeployState[];
  /** Matches deploys whose `external` has these top-level values (compared as strings). */
  external?: Record<string, string>;
  limit?: number;
}

/** A compare-and-set on a deploy's `external` object: `set` merges (null removes a key) only if `expect` holds. */
export interface ExternalPatch {
  set: Record<string, unknown>;
  /** Key → value it must hold now (null: must be absent). */
  expect?: Record<string, unknown>;
}

export type DeployCommand = 'cutover' | 'pause' | 'resume' | 'abort' | 'revert';

/** What the HTTP API and the CLI verbs call. Errors: BadInput (400), NotFound (404), WrongState (409). */
export interface RunnerService {
  plan(request: PlanRequest): Promise<{ plan: Plan; markdown: string }>;
  submit(request: SubmitRequest): Promise<{ deploy: DeployView; created: boolean }>;
  get(id: string): Promise<DeployView>;
  list(filter: ListFilter): Promise<DeployView[]>;
  events(id: string): Promise<DeployEvent[]>;
  /** What reverting the deploy now would cost, one line each; refuses (400/409) what cannot be reverted. */
  revertImpact(id: string): Promise<string[]>;
  command(id: string, command: DeployCommand, actor: string): Promise<DeployView>;
  /** Applies the patch if its expectations hold; `applied: false` returns the deploy as it is. */
  patchExternal(id: string, patch: ExternalPatch): Promise<{ applied: boolean; deploy: DeployView }>;
  targets(): string[];
}

/** The request is malformed or names something unusable: HTTP 400. */
export class BadInput extends Error {
  override name = 'BadInput';
}

/** No such deploy or target: HTTP 404. */
export class NotFound extends Error {
  override name = 'NotFound';
}

/** The transition does not apply in the current state: HTTP 409, naming that state. */
export class WrongState extends Error {
  override name = 'WrongState';
  constructor(readonly current: string, message: string) {
    super(message);
  }
}

/** What the worker reports beyond stored state, for metrics (runner/server wires it to Prometheus). */
export interface WorkerObserver {
  cutOverStall(milliseconds: number): void;
  throttled(seconds: number, reason: string): void;
  rowsCopied(rows: number): void;
}

export const silentObserver: WorkerObserver = { cutOverStall() {}, throttled() {}, rowsCopied() {} };
