// `schemabot plan`: Markdown by default, JSON with --json, exit code 3 when the plan has errors; every
// byte reaches a slow reader; a plan killed with kill -9 leaves nothing the next plan does not reclaim.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { parseDsn } from '../../runner/db/dsn.ts';
import { planSchema } from '../../runner/schema/planner.ts';
import { freshDatabase } from '../support/database.ts';

const BIN = new URL('../../bin/schemabot.js', import.meta.url).pathname;

describe('schemabot plan (CLI)', () => {
  it('prints Markdown, or JSON, and fails on error findings', () => withDatabase(0, async ({ conn, dsn, dir }) => {
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    writeFileSync(join(dir, 't.sql'), 'CREATE TABLE t (id INT PRIMARY KEY, v INT, w INT)\n');
    const md = spawnSync(process.execPath, [BIN, 'plan', '--dsn', dsn, '--schema-dir', dir], { encoding: 'utf8' });
    expect(md.status).toBe(0);
    expect(md.stdout).toContain('ALTER TABLE `t` ADD COLUMN `w` int(11) DEFAULT NULL AFTER `v`;');
    expect(md.stdout).toContain('INSTANT (metadata only)');

    writeFileSync(join(dir, 't.sql'), 'CREATE TABLE t (id INT PRIMARY KEY)\n');
    const json = spawnSync(process.execPath, [BIN, 'plan', '--dsn', dsn, '--schema-dir', dir, '--json'], { encoding: 'utf8' });
    expect(json.status).toBe(3);
    const plan = JSON.parse(json.stdout);
    expect(plan.changes[0].statements).toEqual(['ALTER TABLE `t` DROP COLUMN `v`']);
    expect(plan.findings.map((f: { code: string }) => f.code)).toContain('SB102');
  }));

  it('delivers a large --json plan whole to a reader slower than the writer', () => withDatabase(300, async ({ dsn, dir }) => {
    const child = spawn(process.execPath, [BIN, 'plan', '--dsn', dsn, '--schema-dir', dir, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    // The reader takes one chunk at a time with a pause in between, so the pipe stays full.
    child.stdout.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 5);
    });
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text.length).toBeGreaterThan(128 * 1024);
    expect(status).toBe(3); // 300 tables without a primary key
    expect(JSON.parse(text).changes).toHaveLength(300);
  }));

  it('a plan killed with kill -9 leaves scratch schemas and an account that the next plan reclaims', () => withDatabase(300, async ({ conn, dsn, dir }) => {
    let leftovers: string[] = [];
    for (let attempt = 0; attempt < 5 && leftovers.length === 0; attempt++) {
      const child = spawn(process.execPath, [BIN, 'plan', '--dsn', dsn, '--schema-dir', dir], { stdio: 'ignore' });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      while (child.exitCode === null && (await scratchSchemas(conn)).length === 0) await new Promise((r) => setTimeout(r, 5));
      child.kill('SIGKILL');
      await exited;
      leftovers = await scratchSchemas(conn);
    }
    expect(leftovers.length).toBeGreaterThan(0);
    // The server releases the killed connection's lock once it notices the connection closed.
    for (const id of new Set(leftovers.map((name) => name.split('_').at(-1)))) {
      const free = async () => Number((await conn.query<RowDataPacket[]>('SELECT IS_FREE_LOCK(?) AS f', [`schemabot_plan_${id}`]))[0][0].f) === 1;
      while (!(await free())) await new Promise((r) => setTimeout(r, 10));
    }
    await planSchema({ target: parseDsn(dsn), schemaDir: dir, root: dir });
    expect(await scratchSchemas(conn)).toEqual([]);
    const [accounts] = await conn.query<RowDataPacket[]>("SELECT User FROM mysql.user WHERE User LIKE '\\_schemabot\\_ws\\_%'");
    expect(accounts).toEqual([]);
  }));
});

/** A fresh database and a schema directory of `tables` new tables, both cleaned up after `body`. */
async function withDatabase(tables: number, body: (db: { conn: Connection; dsn: string; dir: string }) => Promise<void>): Promise<void> {
  const { conn, dsn } = await freshDatabase('plancli');
  const dir = manyTables(tables);
  try {
    await body({ conn, dsn, dir });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await conn.end();
  }
}

/** A schema directory of `n` new tables (no primary key: each plan has errors, and a long JSON). */
function manyTables(n: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'schemabot-plan-'));
  for (let i = 0; i < n; i++) {
    writeFileSync(join(dir, `table_${i}.sql`), `CREATE TABLE table_${i} (\n  id INT NOT NULL,\n  name VARCHAR(100) NOT NULL DEFAULT '',\n`
      + '  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,\n  KEY k_name (name)\n)\n');
  }
  return dir;
}

async function scratchSchemas(conn: Connection): Promise<string[]> {
  const [rows] = await conn.query<RowDataPacket[]>("SELECT SCHEMA_NAME AS s FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE '\\_schemabot\\_%'");
  return rows.map((r) => String(r.s));
}
