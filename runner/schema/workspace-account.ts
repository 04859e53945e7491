// The account that loads pull-request files: a temporary user whose privileges end at the run's
// scratch schemas (no INSERT, so no CREATE … SELECT; REFERENCES only there; a statement time limit
// and one connection as resource limits). It is created by the plan account when that account may
// (CREATE USER and GRANT OPTION); otherwise the planner says so and relies on the text checks.
import { randomBytes } from 'node:crypto';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { connect } from '../db/connect.ts';
import type { ConnectionTarget } from '../db/dsn.ts';
import { workspaceUser } from './plan-run.ts';

const PRIVILEGES = 'SELECT, CREATE, DROP, ALTER, INDEX, REFERENCES';
/** Seconds any statement of the account may run (MariaDB enforces it per account). */
export const STATEMENT_SECONDS = 10;

export interface WorkspaceAccount {
  user: string;
  host: string;
  /** Opens a connection as the account (its password never leaves this module). */
  connect(): Promise<Connection>;
  drop(): Promise<void>;
}

/** GRANT … ON `db`.* treats `_` and `%` as wildcards: escape them so the grant names one schema. */
function grantPattern(schema: string): string {
  return '`' + schema.replace(/[_%\\]/g, (c) => `\\${c}`).replace(/`/g, '``') + '`';
}

/**
 * Creates the account, or returns why it could not (the plan then loads files with its own account).
 * The account's host is the plan account's own, so it can connect from wherever the planner runs.
 */
export async function createWorkspaceAccount(admin: Connection, target: ConnectionTarget, runId: string,
  schemas: string[], options: { offBinlog?: boolean } = {}): Promise<WorkspaceAccount | { reason: string }> {
  const [[me]] = await admin.query<RowDataPacket[]>('SELECT CURRENT_USER() AS me');
  const host = String(me.me).slice(String(me.me).lastIndexOf('@') + 1);
  const user = workspaceUser(runId);
  const password = randomBytes(24).toString('base64url');
  const drop = async () => { await admin.query('DROP USER IF EXISTS ?@?', [user, host]).catch(() => undefined); };
  try {
    await admin.query(`CREATE USER ?@? IDENTIFIED BY ? WITH MAX_USER_CONNECTIONS 2 MAX_STATEMENT_TIME ${STATEMENT_SECONDS}`, [user, host, password])
      // MySQL has no per-account statement time: the session limit set by the workspace remains.
      .catch(() => admin.query('CREATE USER ?@? IDENTIFIED BY ? WITH MAX_USER_CONNECTIONS 2', [user, host, password]));
    for (const schema of schemas) await admin.query(`GRANT ${PRIVILEGES} ON ${grantPattern(schema)}.* TO ?@?`, [user, host]);
    // Its only global privilege, when the plan account keeps its own scratch work off the binlog: the
    // same for the workspace, so that replicas never run the files' statements. A statement in a
    // schema file cannot use it (files hold one CREATE TABLE; multiple statements are off).
    if (options.offBinlog) await admin.query('GRANT BINLOG ADMIN ON *.* TO ?@?', [user, host]).catch(() => undefined);
    const account: WorkspaceAccount = {
      user, host, drop,
      connect: () => connect({ ...target, user, password, database: '' }),
    };
    (await account.connect()).destroy();
    return account;
  } catch (err) {
    await drop();
    const why = (err as { sqlMessage?: string }).sqlMessage ?? (err as Error).message;
    return { reason: `the plan account cannot create a workspace account limited to the workspace schema (${why.slice(0, 200)}): `
      + 'pull-request files are loaded with the plan account itself, guarded only by the statement checks and a time limit' };
  }
}
