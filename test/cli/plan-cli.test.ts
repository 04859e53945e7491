// `schemabot plan`: Markdown by default, JSON with --json, exit code 3 when the plan has errors.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshDatabase } from '../support/database.ts';

const BIN = new URL('../../bin/schemabot.js', import.meta.url).pathname;

describe('schemabot plan (CLI)', () => {
  it('prints Markdown, or JSON, and fails on error findings', async () => {
    const { conn, dsn } = await freshDatabase('plancli');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    const dir = mkdtempSync(join(tmpdir(), 'schemabot-plan-'));
    try {
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
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await conn.end();
    }
  });
});
