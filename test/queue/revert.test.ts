// Revert: after thousands of writes since the cut-over, the kept original catches up from the binlog
// and is swapped back, losing no write; the revert reports beforehand what it loses; a reverted deploy
// can be applied again the same way. Tables dropped or created by the deploy come back or go aside.
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { BadInput, WrongState } from '../../runner/queue/deploy-model.ts';
import { DeployService } from '../../runner/queue/deploy-service.ts';
import { stopServiceAfterEach, twinFixture, waitForDeploy, WIDENED } from '../support/deploy-fixture.ts';

const services = stopServiceAfterEach();

async function writesSince(fx: Awaited<ReturnType<typeof twinFixture>>, count: number): Promise<void> {
  const start = fx.load.stats.operations;
  const deadline = Date.now() + 60_000;
  while (fx.load.stats.operations - start < count) {
    if (Date.now() > deadline) throw new Error(`only ${fx.load.stats.operations - start} writes`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('revert', () => {
  it('swaps back without losing a write made since the cut-over, and can be reverted again', async () => {
    const fx = await twinFixture(5000, 4, 0);
    await fx.conn.query('CREATE TABLE gone (id INT PRIMARY KEY)');
    await fx.conn.query('INSERT INTO gone VALUES (1), (2), (3)');
    const service = services.use(new DeployService({ targets: { main: fx.target }, pollMs: 100, stateSchema: `_sb_${fx.target.database}` }));
    const files = {
      ...fx.files,
      'audit.sql': 'CREATE TABLE audit (id BIGINT PRIMARY KEY);',
      '.schemabot.yml': 'lint:\n  drop-table: warning\n',
    };
    const { deploy } = await service.submit({ target: 'main', files, clientKey: 'revert-1', actor: 'alice' });
    await expect(service.command(deploy.id, 'revert', 'bob')).rejects.toBeInstanceOf(WrongState);
    service.startWorker();
    await waitForDeploy(service, deploy.id, 'complete');
    await fx.conn.query("UPDATE t SET seen_at = '2026-01-01 00:00:00' WHERE id <= 100");
    await writesSince(fx, 3000);

    const preview = await service.revertImpact(deploy.id);
    await service.command(deploy.id, 'revert', 'bob');
    const impact = (await service.events(deploy.id)).find((e) => e.kind === 'revert-impact')!;
    // The same report, but for counts that the ongoing writes move.
    const shape = (lines: string[]) => lines.map((l) => l.replace(/\d+/g, '#'));
    expect(shape(preview)).toEqual(shape(impact.message.split('\n')));
    expect(impact.actor).toBe('bob');
    expect(impact.message).toMatch(/column `seen_at` of `t` is not in the table swapped back: its values are lost \(non-NULL in \d+ row\(s\)\)/);
    expect(impact.message).toMatch(/`gone` comes back with its 3 row\(s\)/);
    expect(impact.message).toMatch(/`audit` is set aside/);
    await waitForDeploy(service, deploy.id, 'reverted');
    // Verified in proportion to the changes: the counts, and the rows of the keys written since the cut-over.
    const verified = (await service.events(deploy.id)).find((e) => /changed since the cut-over compared/.test(e.message));
    expect(verified?.message).toMatch(/verified: \d+ rows counted, the \d+ changed since the cut-over compared/);
    const now = await fx.rowsNow();
    expect(now.definitions[0]).toBe(now.definitions[1]);
    expect(now.rows[0]).toEqual(now.rows[1]);
    const [tables] = await fx.conn.query<RowDataPacket[]>('SHOW TABLES');
    const names = tables.map((r) => String(Object.values(r)[0]));
    expect(names).toContain('gone');
    expect(names).not.toContain('audit');
    expect(names).toContain('t__old');

    // Revert the revert: writes go on meanwhile, and the new definition comes back with every row.
    await fx.restartLoad();
    await writesSince(fx, 2000);
    await service.command(deploy.id, 'revert', 'carol');
    await waitForDeploy(service, deploy.id, (d) => d.state === 'complete' && d.migrations.every((m) => m.stage === 'complete'));
    const result = await fx.compare();
    expect(result.definitions[0]).toBe(result.definitions[1]);
    // Every row is back; `seen_at` survives only in rows nobody wrote since the first revert (the
    // twin never had values there), so it is compared apart.
    const columns = 'id, email, n, amount, note';
    const [live] = await fx.conn.query<RowDataPacket[]>({ sql: `SELECT ${columns} FROM t ORDER BY id`, rowsAsArray: true });
    const [twin] = await fx.conn.query<RowDataPacket[]>({ sql: `SELECT ${columns} FROM t_twin ORDER BY id`, rowsAsArray: true });
    expect(live).toEqual(twin);
    const [seen] = await fx.conn.query<RowDataPacket[]>('SELECT id, seen_at FROM t WHERE seen_at IS NOT NULL');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((r) => r.seen_at === '2026-01-01 00:00:00')).toBe(true);
    const kinds = (await service.events(deploy.id)).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['reverted', 'reapplied']));
    await fx.conn.end();
  });

  it('refuses to revert an in-place change, and anything but the last deploy on a table', async () => {
    const fx = await twinFixture(200, 1, 5);
    await fx.load.stop();
    await fx.conn.query('CREATE TABLE small (id INT PRIMARY KEY, v INT)');
    const service = services.use(new DeployService({ targets: { main: fx.target }, pollMs: 100, stateSchema: `_sb_${fx.target.database}` }));
    service.startWorker();
    const base = { 't_twin.sql': fx.files['t_twin.sql'] };
    const first = await service.submit({ target: 'main', clientKey: 'a', actor: 'alice',
      files: { ...base, 't.sql': `${WIDENED('t')};`, 'small.sql': 'CREATE TABLE small (id INT PRIMARY KEY, v INT, w INT NULL);' } });
    await waitForDeploy(service, first.deploy.id, 'complete');
    await expect(service.command(first.deploy.id, 'revert', 'bob')).rejects.toThrow(/`small` was altered in place/);
    await expect(service.command(first.deploy.id, 'revert', 'bob')).rejects.toBeInstanceOf(BadInput);
    const second = await service.submit({ target: 'main', clientKey: 'b', actor: 'alice',
      files: { ...base, 't.sql': `${WIDENED('t').replace('note TEXT', 'note MEDIUMTEXT')};`, 'small.sql': 'CREATE TABLE small (id INT PRIMARY KEY, v INT, w INT NULL);' } });
    await waitForDeploy(service, second.deploy.id, 'complete');
    await expect(service.command(first.deploy.id, 'revert', 'bob')).rejects.toThrow(/only the last deploy on a table can be reverted/);
    await fx.conn.end();
  });
});
