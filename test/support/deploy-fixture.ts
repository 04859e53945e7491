// A table and its twin under mirrored concurrent writes, the schema files that describe the wanted
// change, and helpers to wait for a deploy to reach a state. After the deploy, the twin gets the same
// change natively: both must be equal row for row.
import type { Connection } from 'mysql2/promise';
import { afterEach, beforeEach } from 'vitest';
import type { ConnectionTarget } from '../../runner/db/dsn.ts';
import { WriteLoad } from '../../runner/embedded/write-load.ts';
import type { DeployState, DeployView, RunnerService } from '../../runner/queue/deploy-model.ts';
import { readTableInfo } from '../../runner/db/table-info.ts';
import { freshDatabase } from './database.ts';
import { seedTable } from './migration-case.ts';
import { definitionOf, tableRows, twinWorkload } from './twin-workload.ts';

export const TABLE_SQL = (name: string, extra = '') => `CREATE TABLE \`${name}\` (
  id INT NOT NULL AUTO_INCREMENT,
  email VARCHAR(60) DEFAULT NULL,
  n BIGINT DEFAULT NULL,
  amount DECIMAL(10,2) DEFAULT NULL,
  note TEXT DEFAULT NULL,${extra}
  PRIMARY KEY (id)
)`;

/** The change under test: a DECIMAL widening forces a table copy; plus a new column and index. */
export const WIDENED = (name: string) => TABLE_SQL(name, '\n  seen_at DATETIME DEFAULT NULL,\n  KEY idx_n (n),')
  .replace('amount DECIMAL(10,2)', 'amount DECIMAL(14,2)');
export const NATIVE_ALTER = 'MODIFY amount DECIMAL(14,2) DEFAULT NULL, ADD COLUMN seen_at DATETIME DEFAULT NULL, ADD KEY idx_n (n)';

export interface TwinFixture {
  target: ConnectionTarget;
  conn: Connection;
  load: WriteLoad;
  /** Stops the current writers and starts new ones (same mirrored workload). */
  restartLoad(): Promise<void>;
  /** Stops the writers; both tables as they are. */
  rowsNow(): Promise<{ definitions: [string, string]; rows: [string[], string[]] }>;
  /** The schema files of the wanted state: `t` changed, its twin as it is. */
  files: Record<string, string>;
  /** Stops the writers, applies the change natively to the twin and compares both tables. */
  compare(): Promise<{ definitions: [string, string]; rows: [string[], string[]] }>;
}

export async function twinFixture(rows: number, writers = 3, pauseMs = 2): Promise<TwinFixture> {
  const { target, conn } = await freshDatabase('deploy');
  await conn.query(TABLE_SQL('t'));
  await conn.query(TABLE_SQL('t_twin'));
  const info = await readTableInfo(conn, target.database, 't');
  await seedTable(conn, info, rows, undefined);
  await conn.query('INSERT INTO t_twin SELECT * FROM t');
  let seed = 3;
  const newLoad = () => new WriteLoad(target, writers, twinWorkload({ table: info, twin: 't_twin', keyColumns: ['id'], keyChanges: true, seed: seed++ }), pauseMs);
  const fixture: TwinFixture = {
    target, conn, load: newLoad(),
    files: { 't.sql': `${WIDENED('t')};\n`, 't_twin.sql': `${TABLE_SQL('t_twin')};\n` },
    async restartLoad() {
      await fixture.load.stop();
      fixture.load = newLoad();
      await fixture.load.start();
    },
    async rowsNow() {
      await fixture.load.stop();
      return {
        definitions: [await definitionOf(conn, 't'), await definitionOf(conn, 't_twin')],
        rows: [await tableRows(conn, 't', ['id']), await tableRows(conn, 't_twin', ['id'])],
      };
    },
    async compare() {
      await fixture.load.stop();
      await conn.query(`ALTER TABLE t_twin ${NATIVE_ALTER}`);
      return fixture.rowsNow();
    },
  };
  await fixture.load.start();
  return fixture;
}

/** Polls the deploy until `done(view)`; fails on a final state that is not wanted, or after the timeout. */
export async function waitForDeploy(service: RunnerService, id: string,
  wanted: DeployState | ((d: DeployView) => boolean | Promise<boolean>), timeoutMs = 90_000): Promise<DeployView> {
  const done = typeof wanted === 'string' ? (d: DeployView) => d.state === wanted : wanted;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await service.get(id);
    if (await done(view)) return view;
    if (['failed', 'aborted'].includes(view.state)) throw new Error(`deploy ${id} ${view.state}: ${view.error}`);
    if (Date.now() > deadline) throw new Error(`deploy ${id} still ${view.state} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Prints every deploy with its event log: what a failed deploy test needs to be understood. */
export async function printDeploys(service: RunnerService): Promise<void> {
  for (const d of await service.list({})) {
    console.log(JSON.stringify(d, null, 1));
    console.log((await service.events(d.id)).map((e) => `${e.at} ${e.kind} ${e.actor} ${e.table ?? ''} ${e.message}`).join('\n'));
  }
}

/**
 * Registers hooks that stop the test's runner service after each test, printing every deploy and its
 * event log first when the test failed. `use(service)` hands the service over.
 */
export function stopServiceAfterEach(): { use<T extends RunnerService & { stop(): Promise<void> }>(service: T): T } {
  let current: (RunnerService & { stop(): Promise<void> }) | undefined;
  let failed = false;
  beforeEach((context) => context.onTestFailed(() => { failed = true; }));
  afterEach(async () => {
    if (current && failed) await printDeploys(current);
    failed = false;
    await current?.stop();
    current = undefined;
  });
  return { use: (service) => { current = service; return service; } };
}
