// The CLI contract: exit 0 only after a verified cut-over; a non-zero exit with one line naming the
// reason otherwise; --postpone-cutover waits for its flag file to disappear.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.ts';

const BIN = new URL('../../bin/schemabot.js', import.meta.url).pathname;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function schemabot(args: string[], whileRunning?: (stderr: () => string, pid: number) => Promise<void>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    const side = whileRunning?.(() => stderr, child.pid!);
    child.on('close', (code) => {
      void Promise.resolve(side).then(() => resolve({ code, stdout, stderr }), reject);
    });
  });
}

describe('schemabot migrate (CLI)', () => {
  it('migrates, prints progress on stderr and a JSON result on stdout, exits 0', async () => {
    const { conn, dsn } = await freshDatabase('cli');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    await conn.query('INSERT INTO t SELECT seq, seq FROM seq_1_to_2000');
    const run = await schemabot(['migrate', '--dsn', dsn, '--table', 't', '--alter', 'ADD COLUMN w INT NULL', '--chunk-size', '300']);
    expect(run.stderr).toMatch(/copying .*rows\/s/);
    expect(run.stderr).toMatch(/cut-over complete: writers blocked [\d.]+ ms/);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ table: 't', oldTable: 't__old', rowsCopied: 2000, verifiedRows: 2000 });
    const [cols] = await conn.query<RowDataPacket[]>('SHOW COLUMNS FROM t');
    expect(cols.map((c) => c.Field)).toEqual(['id', 'v', 'w']);
    await conn.end();
  });

  it('refuses with one line and exit code 2, leaving the table untouched', async () => {
    const { conn, dsn } = await freshDatabase('cli');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    const run = await schemabot(['migrate', '--dsn', dsn, '--table', 't', '--alter', 'DROP COLUMN v']);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(/^schemabot: refused: the ALTER drops column\(s\) `v`.*--allow-drop-column/);
    const [cols] = await conn.query<RowDataPacket[]>('SHOW COLUMNS FROM t');
    expect(cols.map((c) => c.Field)).toEqual(['id', 'v']);
    await conn.end();
  });

  it('reports a bad DSN in one line', async () => {
    const run = await schemabot(['migrate', '--dsn', 'postgres://x/y', '--table', 't', '--alter', 'ADD COLUMN c INT']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe('schemabot: error: invalid DSN scheme "postgres:": expected mysql://');
  });

  it('refuses a chunk size of 0, and never prints a DSN password', async () => {
    const zero = await schemabot(['migrate', '--dsn', 'mysql://root@127.0.0.1:1/db', '--table', 't', '--alter', 'ADD COLUMN c INT', '--chunk-size', '0']);
    expect(zero.code).not.toBe(0);
    expect(zero.stderr).toMatch(/--chunk-size.*expected an integer of at least 1/);
    const secret = 'Top/Se#cr@t';
    const bad = await schemabot(['migrate', '--dsn', `mysql://root:${secret}@127.0.0.1:1/db`, '--table', 't', '--alter', 'ADD COLUMN c INT',
      '--replica-dsn', `mysql://root:${secret}@127.0.0.1:1/db`]);
    expect(bad.code).toBe(1);
    expect(bad.stderr + bad.stdout).not.toContain('Se#cr');
    expect(bad.stderr).toMatch(/^schemabot: error: /);
  });

  it('postpones cut-over until the flag file is deleted', async () => {
    const { conn, dsn } = await freshDatabase('cli');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    await conn.query('INSERT INTO t SELECT seq, seq FROM seq_1_to_500');
    const dir = mkdtempSync(join(tmpdir(), 'schemabot-flag-'));
    const flag = join(dir, 'postpone');
    const run = await schemabot(['migrate', '--dsn', dsn, '--table', 't', '--alter', 'MODIFY v BIGINT', '--postpone-cutover',
      '--postpone-flag-file', flag], async (stderr) => {
      while (!/until cut-over is released/.test(stderr())) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(flag)).toBe(true);
      await conn.query('UPDATE t SET v = 0 WHERE id = 1');
      // A second postponed run of the same table is refused and leaves the first one's flag file alone.
      const second = await schemabot(['migrate', '--dsn', dsn, '--table', 't', '--alter', 'ADD COLUMN w INT', '--postpone-cutover',
        '--postpone-flag-file', flag]);
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(/^schemabot: refused: the flag file .* exists \(another migration may be waiting on it\)/);
      expect(existsSync(flag)).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      const [[col]] = await conn.query<RowDataPacket[]>("SHOW COLUMNS FROM t LIKE 'v'");
      expect(col.Type).toBe('int(11)');
      rmSync(flag);
    });
    expect(run.code).toBe(0);
    const [[col]] = await conn.query<RowDataPacket[]>("SHOW COLUMNS FROM t LIKE 'v'");
    expect(col.Type).toBe('bigint(20)');
    const [[row]] = await conn.query<RowDataPacket[]>('SELECT v FROM t WHERE id = 1');
    expect(Number(row.v)).toBe(0);
    rmSync(dir, { recursive: true, force: true });
    await conn.end();
  });

  it('migrates a table whose name has a slash, with its default flag file', async () => {
    const { conn, dsn, target } = await freshDatabase('cli');
    await conn.query('CREATE TABLE `a/b` (id INT PRIMARY KEY, v INT)');
    await conn.query('INSERT INTO `a/b` SELECT seq, seq FROM seq_1_to_300');
    const flag = `.schemabot-${target.database}-a_b.postpone`;
    const run = await schemabot(['migrate', '--dsn', dsn, '--table', 'a/b', '--alter', 'MODIFY v BIGINT', '--postpone-cutover'],
      async (stderr) => {
        while (!/until cut-over is released/.test(stderr())) await new Promise((r) => setTimeout(r, 50));
        rmSync(flag);
      });
    expect(run.code).toBe(0);
    const [[col]] = await conn.query<RowDataPacket[]>('SHOW COLUMNS FROM `a/b` LIKE ?', ['v']);
    expect(col.Type).toBe('bigint(20)');
    await conn.end();
  });

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`on ${signal} aborts, removes its helper tables and leaves the table untouched`, async () => {
      const { conn, dsn } = await freshDatabase('cli');
      await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
      await conn.query('INSERT INTO t SELECT seq, seq FROM seq_1_to_500');
      const dir = mkdtempSync(join(tmpdir(), 'schemabot-flag-'));
      const run = await schemabot(['migrate', '--dsn', dsn, '--table', 't', '--alter', 'MODIFY v BIGINT', '--postpone-cutover',
        '--postpone-flag-file', join(dir, 'postpone')], async (stderr, pid) => {
        while (!/until cut-over is released/.test(stderr())) await new Promise((r) => setTimeout(r, 50));
        process.kill(pid, signal);
      });
      expect(run.code).toBe(1);
      expect(run.stderr.trim().split('\n').at(-1)).toBe(
        'schemabot: failed: migration aborted by the operator (the original table is untouched)');
      const [tables] = await conn.query<RowDataPacket[]>('SHOW TABLES');
      expect(tables.map((r) => Object.values(r)[0])).toEqual(['t']);
      const [[col]] = await conn.query<RowDataPacket[]>("SHOW COLUMNS FROM t LIKE 'v'");
      expect(col.Type).toBe('int(11)');
      rmSync(dir, { recursive: true, force: true });
      await conn.end();
    });
  }
});
