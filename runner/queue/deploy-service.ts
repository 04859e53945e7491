// The runner service: what the HTTP API and the CLI verbs call. It plans files it is given (the
// client never supplies SQL), stores deploys in each target's state schema, records commands as
// intents for the worker, and runs the worker (worker.ts) that claims and drives deploys.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { metadataLockSource } from '../db/metadata-locks.ts';
import { analyzeAlter } from '../engine/alter-text.ts';
import { MigrationRefused } from '../engine/errors.ts';
import { planSchema, type Plan, type PlannedChange } from '../schema/planner.ts';
import { renderPlanMarkdown } from '../schema/render-markdown.ts';
import {
  BadInput, NotFound, SCHEMA_FILE_NAME, silentObserver, WrongState, type DeployCommand, type DeployEvent, type DeployView, type ListFilter, type PlanRequest,
  type ExternalPatch, type RunnerService, type SubmitRequest, type WorkerObserver,
} from './deploy-model.ts';
import type { MigrationTuning } from './migration-driver.ts';
import { revertImpact } from './revert-impact.ts';
import { StateStore, type NewMigration } from './state-store.ts';
import { Worker } from './worker.ts';

export interface RunnerOptions {
  targets: Record<string, ConnectionTarget>;
  stateSchema?: string;
  /** Names this runner in leases and events; defaults to host and pid. */
  runnerId?: string;
  /** How long kept originals (`T__old`) and dropped tables stay, for revert. Default 24 h. */
  retentionSeconds?: number;
  observer?: WorkerObserver;
  /** How often the worker looks for deploys to claim, ms. */
  pollMs?: number;
  /** Engine settings for every online migration: chunk size, throttling limits, a throttle query. */
  migration?: MigrationTuning;
  /** Per target: replicas whose lag pauses the copy. */
  replicas?: Record<string, ConnectionTarget[]>;
}

const MAX_FILES = 1000;
const MAX_BYTES = 2 * 1024 * 1024;

function writeFiles(dir: string, files: Record<string, string>): void {
  const entries = Object.entries(files ?? {});
  if (entries.length === 0) throw new BadInput('files: no schema files given');
  if (entries.length > MAX_FILES) throw new BadInput(`files: ${entries.length} files, at most ${MAX_FILES}`);
  let bytes = 0;
  for (const [name, text] of entries) {
    if (!SCHEMA_FILE_NAME.test(name)) throw new BadInput(`files: "${name.slice(0, 140)}" is not a schema file name (name.sql)`);
    if (typeof text !== 'string') throw new BadInput(`files: ${name} must be text`);
    bytes += Buffer.byteLength(text);
    if (bytes > MAX_BYTES) throw new BadInput(`files: more than ${MAX_BYTES} bytes in all`);
    writeFileSync(join(dir, name), text);
  }
}

/** The plan's changes as the migrations a deploy runs, each by the method the planner verified. */
function migrationsOf(changes: PlannedChange[]): NewMigration[] {
  const migrations: NewMigration[] = [];
  const created = new Set<string>();
  for (const change of changes) {
    if (change.kind !== 'alter') {
      if (change.kind === 'create') created.add(change.table);
      migrations.push({ table: change.table, method: change.kind, statement: change.statements[0], definition: change.definition });
      continue;
    }
    if (change.impact.method === 'copy' && !created.has(change.table)) {
      throw new BadInput(`\`${change.table}\` needs a table copy that cannot run online (${change.impact.blockingReason}): `
        + 'schemabot does not deploy it; run it in a maintenance window, then plan again');
    }
    for (const [i, statement] of change.statements.entries()) {
      // A table created earlier in this deploy is still empty and unused: its later steps (a foreign
      // key that closes a cycle) run as they are.
      const method = change.algorithm === 'COPY' && !created.has(change.table) ? 'online' : 'direct';
      // Refused here (400) rather than after the deploy was stored: what the engine cannot copy exactly.
      if (method === 'online') refusedAsBadInput(() => analyzeAlter(change.alters?.[i] ?? ''));
      if (method === 'online' && migrations.some((m) => m.table === change.table && m.method === 'online')) {
        throw new BadInput(`\`${change.table}\` would need two online migrations in one deploy: split the change into two pull requests`);
      }
      migrations.push({
        table: change.table, method, statement, alter: change.alters?.[i], algorithm: change.algorithm,
        definition: i === change.statements.length - 1 ? change.definition : undefined,
      });
    }
  }
  return migrations;
}

function refusedAsBadInput(check: () => unknown): void {
  try {
    check();
  } catch (err) {
    throw err instanceof MigrationRefused ? new BadInput(err.message) : err;
  }
}

function planErrors(plan: Plan): string[] {
  return [
    ...plan.errors.map((e) => `${e.path}${e.line ? `:${e.line}` : ''}: ${e.message}`),
    ...plan.findings.filter((f) => f.severity === 'error').map((f) => `${f.path}:${f.line}: ${f.code} ${f.message}`),
    ...plan.changes.filter((c) => c.error).map((c) => `\`${c.table}\`: ${c.error}`),
  ];
}

export class DeployService implements RunnerService {
  private readonly stores = new Map<string, StateStore>();
  private readonly ready = new Map<string, Promise<void>>();
  private worker: Worker | undefined;

  constructor(private readonly options: RunnerOptions) {
    for (const [name, target] of Object.entries(options.targets)) this.stores.set(name, new StateStore(target, options.stateSchema));
  }

  targets(): string[] {
    return [...this.stores.keys()];
  }

  /** The target's state store, its tables created on first use. */
  private async store(target: string): Promise<StateStore> {
    const store = this.stores.get(target);
    if (!store) throw new NotFound(`no target named "${String(target).slice(0, 64)}" (known: ${this.targets().join(', ')})`);
    let ready = this.ready.get(target);
    if (!ready) {
      ready = store.ensureSchema();
      ready.catch(() => this.ready.delete(target));
      this.ready.set(target, ready);
    }
    await ready;
    return store;
  }

  private parseId(id: string): { target: string; number: number } {
    const m = /^(.+)\.(\d{1,18})$/.exec(String(id));
    if (!m) throw new NotFound(`no deploy "${String(id).slice(0, 80)}": ids look like <target>.<number>`);
    return { target: m[1], number: Number(m[2]) };
  }

  async plan(request: PlanRequest): Promise<{ plan: Plan; markdown: string }> {
    const store = await this.store(request.target);
    const dir = mkdtempSync(join(tmpdir(), 'schemabot-plan-'));
    try {
      for (const sub of ['head', 'base']) mkdirSync(join(dir, sub));
      writeFiles(join(dir, 'head'), request.files);
      if (request.baseFiles) writeFiles(join(dir, 'base'), request.baseFiles);
      const plan = await planSchema({
        target: store.target, schemaDir: join(dir, 'head'), baseDir: request.baseFiles ? join(dir, 'base') : undefined, root: join(dir, 'head'),
      });
      return { plan, markdown: renderPlanMarkdown(plan) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async submit(request: SubmitRequest): Promise<{ deploy: DeployView; created: boolean }> {
    const store = await this.store(request.target);
    const clientKey = String(request.clientKey ?? '');
    if (!clientKey || clientKey.length > 200) throw new BadInput('clientKey: required, at most 200 characters');
    const cutover = request.cutover ?? 'auto';
    if (cutover !== 'auto' && cutover !== 'gated') throw new BadInput('cutover: must be "auto" or "gated"');
    const cutoverAfter = request.cutoverAfter ? new Date(request.cutoverAfter) : undefined;
    if (cutoverAfter && Number.isNaN(cutoverAfter.getTime())) throw new BadInput('cutoverAfter: not an ISO date-time');
    const existing = await store.deployIdByClientKey(clientKey);
    if (existing !== undefined) return { deploy: await store.view(existing, request.target), created: false };

    const { plan } = await this.plan({ target: request.target, files: request.files });
    const errors = planErrors(plan);
    if (errors.length > 0) {
      throw new BadInput(`the plan has ${errors.length} error(s), nothing was deployed: ${errors.slice(0, 5).join('; ')}`);
    }
    if (plan.changes.length === 0) throw new BadInput('the plan has no changes: nothing to deploy');
    const migrations = migrationsOf(plan.changes);
    if (migrations.filter((m) => m.method === 'online').length > 1) await this.requireAtomicSwap(store);
    const { id, created } = await store.insertDeploy({
      clientKey, cutover, cutoverAfter, external: request.external ?? {}, submittedBy: request.actor, migrations,
    });
    return { deploy: await store.view(id, request.target), created };
  }

  /** Several online migrations swap in one RENAME, which needs the server to show metadata locks: say so before copying. */
  private async requireAtomicSwap(store: StateStore): Promise<void> {
    const conn = await connect(store.target);
    try {
      if (!(await metadataLockSource(conn))) {
        throw new BadInput('this plan needs several online migrations, cut over together in one atomic RENAME, and the server does '
          + "not show metadata locks: on MariaDB run INSTALL SONAME 'metadata_lock_info' (or enable performance_schema with its "
          + 'MDL instrument), or split the change into one pull request per table');
      }
    } finally {
      await conn.end();
    }
  }

  async get(id: string): Promise<DeployView> {
    const { target, number } = this.parseId(id);
    return (await this.store(target)).view(number, target);
  }

  async list(filter: ListFilter): Promise<DeployView[]> {
    const targets = filter.target ? [filter.target] : this.targets();
    const views: DeployView[] = [];
    for (const target of targets) {
      try {
        views.push(...await (await this.store(target)).listViews(filter, target));
      } catch (err) {
        // Listing every target: one that is down must not hide the others (metrics report it).
        if (filter.target) throw err;
      }
    }
    return views.sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, filter.limit ?? 100);
  }

  async events(id: string): Promise<DeployEvent[]> {
    const { target, number } = this.parseId(id);
    return (await this.store(target)).events(number, target);
  }

  async command(id: string, command: DeployCommand, actor: string): Promise<DeployView> {
    const { target, number } = this.parseId(id);
    const store = await this.store(target);
    const impact = command === 'revert' ? await this.impactOf(store, number) : undefined;
    await store.requestCommand(number, command, actor);
    if (impact) await store.addEvent(number, undefined, actor, 'revert-impact', impact.join('\n'));
    return store.view(number, target);
  }

  async patchExternal(id: string, patch: ExternalPatch): Promise<{ applied: boolean; deploy: DeployView }> {
    const { target, number } = this.parseId(id);
    const store = await this.store(target);
    const { applied } = await store.patchExternal(number, patch.set, patch.expect ?? {});
    return { applied, deploy: await store.view(number, target) };
  }

  async revertImpact(id: string): Promise<string[]> {
    const { target, number } = this.parseId(id);
    return this.impactOf(await this.store(target), number);
  }

  /** Refuses a revert that cannot be done, and says what the one that can will lose. */
  private async impactOf(store: StateStore, id: number): Promise<string[]> {
    const deploy = await store.deployRow(id);
    if (deploy.state !== 'complete' && deploy.state !== 'reverted') {
      throw new WrongState(deploy.state, `only a complete (or reverted) deploy can be reverted; this one is ${deploy.state}`);
    }
    const migrations = await store.migrationRows(id);
    const later = await store.laterDeploysOn(id, migrations.map((m) => m.table));
    if (later.length > 0) {
      throw new WrongState(deploy.state, `deploy ${later.join(', ')} changed the same tables later: only the last deploy on a table can be reverted`);
    }
    const conn = await connect(store.target);
    try {
      return await revertImpact(conn, store.database, id, migrations, deploy.reverts % 2 === 0);
    } finally {
      await conn.end();
    }
  }

  /** Starts claiming and driving deploys in the background. */
  startWorker(): void {
    this.worker ??= new Worker(this.targets().map((name) => ({
      name, ready: () => this.store(name), replicas: this.options.replicas?.[name] ?? [],
    })), {
      runnerId: this.options.runnerId, retentionSeconds: this.options.retentionSeconds ?? 24 * 3600,
      observer: this.options.observer ?? silentObserver, pollMs: this.options.pollMs ?? 500, migration: this.options.migration ?? {},
    });
    this.worker.start();
  }

  async stop(): Promise<void> {
    await this.worker?.stop();
    this.worker = undefined;
    for (const store of this.stores.values()) await store.close().catch(() => undefined);
  }
}
