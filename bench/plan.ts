// Planning 200 tables: live schema of 200 tables, desired files changing a quarter of them.
//   npm run bench:plan
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../runner/db/connect.ts';
import { parseDsn } from '../runner/db/dsn.ts';
import { startEmbeddedServer } from '../runner/embedded/mariadb.ts';
import { planSchema } from '../runner/schema/planner.ts';

const TABLES = Number(process.env.BENCH_TABLES ?? 200);

function table(i: number, changed: boolean): string {
  return `CREATE TABLE t${i} (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  account_id INT NOT NULL,
  name VARCHAR(${changed ? 200 : 100}) NOT NULL,
  status ENUM('new','active','closed') NOT NULL DEFAULT 'new',
  amount DECIMAL(12,2) NOT NULL DEFAULT 0,
  created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),${changed ? '\n  note TEXT NULL,' : ''}
  PRIMARY KEY (id),
  KEY k_account (account_id${changed ? ', status' : ''})
)`;
}

const server = await startEmbeddedServer();
const dir = mkdtempSync(join(tmpdir(), 'schemabot-bench-plan-'));
try {
  const admin = await connect(parseDsn(server.dsn('mysql')));
  await admin.query('CREATE DATABASE app');
  await admin.query('USE app');
  for (let i = 0; i < TABLES; i++) await admin.query(table(i, false));
  await admin.end();
  for (let i = 0; i < TABLES; i++) writeFileSync(join(dir, `t${i}.sql`), `${table(i, i % 4 === 0)}\n`);
  const started = performance.now();
  const plan = await planSchema({ target: parseDsn(server.dsn('app')), schemaDir: dir, root: dir });
  const seconds = (performance.now() - started) / 1000;
  const verified = plan.changes.filter((c) => !c.error).length;
  process.stdout.write(`planned ${TABLES} tables (${plan.changes.length} changed, ${verified} verified, `
    + `${plan.findings.length} findings) in ${seconds.toFixed(2)} s\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
  await server.stop();
}
