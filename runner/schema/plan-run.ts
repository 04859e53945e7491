// One plan run's scratch names and the lock that says it is alive. Every schema and account a run
// creates carries its id (`_schemabot_ws_<id>`, `_schemabot_scratch_<id>`, …) and the run holds
// GET_LOCK('schemabot_plan_<id>') on its main connection while it lives: a run killed with kill -9
// or Ctrl-C loses the lock with its connection, and the next run reclaims what it left behind,
// never touching the schemas of a run that still holds its lock.
import { randomBytes } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { quoteIdent } from '../db/quote.ts';

export type ScratchKind = 'ws' | 'base' | 'scratch' | 'rate';

const SCRATCH = /^_schemabot_(ws|base|scratch|rate)_([0-9a-f]{8,16})$/;
const lockName = (id: string) => `schemabot_plan_${id}`;

export function scratchSchema(id: string, kind: ScratchKind): string {
  return `_schemabot_${kind}_${id}`;
}

/** The temporary account of a run: privileges on that run's scratch schemas only. */
export function workspaceUser(id: string): string {
  return `_schemabot_ws_${id}`;
}

export class PlanRun {
  readonly id = randomBytes(6).toString('hex');

  private constructor(private readonly conn: Connection) {}

  /** Takes the run's lock on `conn` (which must stay open for the run) and reclaims dead runs' leftovers. */
  static async start(conn: Connection): Promise<{ run: PlanRun; reclaimed: string[] }> {
    const run = new PlanRun(conn);
    const [[row]] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS ok', [lockName(run.id)]);
    if (Number(row.ok) !== 1) throw new Error(`could not take the plan lock ${lockName(run.id)}`);
    return { run, reclaimed: await reclaimLeftovers(conn) };
  }

  schema(kind: ScratchKind): string {
    return scratchSchema(this.id, kind);
  }

  async end(): Promise<void> {
    await this.conn.query('SELECT RELEASE_LOCK(?)', [lockName(this.id)]);
  }
}

/** Accounts named like run accounts, with their host (empty when the account table cannot be read). */
async function leftoverAccounts(conn: Connection): Promise<{ user: string; host: string }[]> {
  const [rows] = await conn.query<RowDataPacket[]>(
    "SELECT User AS user, Host AS host FROM mysql.user WHERE User REGEXP '^_schemabot_ws_[0-9a-f]{8,16}$'").catch(() => [[]] as never);
  return rows.map((r) => ({ user: String(r.user), host: String(r.host) }));
}

/**
 * Drops the scratch schemas and accounts of runs whose lock is free (their connection is gone). The
 * lock is taken while dropping, so a run can never be reclaimed while it, or another reclaimer, holds it.
 */
export async function reclaimLeftovers(conn: Connection): Promise<string[]> {
  const [schemas] = await conn.query<RowDataPacket[]>(
    "SELECT SCHEMA_NAME AS name FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '\\_schemabot\\_%'");
  const accounts = await leftoverAccounts(conn);
  const byRun = new Map<string, { schemas: string[]; accounts: { user: string; host: string }[] }>();
  const entry = (id: string) => byRun.get(id) ?? byRun.set(id, { schemas: [], accounts: [] }).get(id)!;
  for (const { name } of schemas) {
    const m = SCRATCH.exec(String(name));
    if (m) entry(m[2]).schemas.push(String(name));
  }
  for (const account of accounts) entry(account.user.slice('_schemabot_ws_'.length)).accounts.push(account);
  const reclaimed: string[] = [];
  for (const [id, leftovers] of byRun) {
    const [[row]] = await conn.query<RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS ok', [lockName(id)]);
    if (Number(row.ok) !== 1) continue;
    try {
      for (const schema of leftovers.schemas) {
        // Another account's leftovers may be out of reach: they wait for a run that may drop them.
        if (await conn.query(`DROP DATABASE IF EXISTS ${quoteIdent(schema)}`).then(() => true, () => false)) reclaimed.push(schema);
      }
      for (const { user, host } of leftovers.accounts) await conn.query('DROP USER IF EXISTS ?@?', [user, host]).catch(() => undefined);
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [lockName(id)]);
    }
  }
  return reclaimed;
}
