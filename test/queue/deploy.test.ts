// A deploy end to end with a real worker: an online migration under mirrored writes, a CREATE, an
// in-place ALTER and a DROP kept for retention, gated cut-over, commands and their event log, and a
// pause that holds the cut-over.
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { WrongState } from '../../runner/queue/deploy-model.ts';
import { DeployService } from '../../runner/queue/deploy-service.ts';
import { stopServiceAfterEach, twinFixture, waitForDeploy } from '../support/deploy-fixture.ts';

const services = stopServiceAfterEach();

describe('deploys', () => {
  it('runs a gated deploy: online copy under writes, waits, cuts over on command, applies every change', async () => {
    const fx = await twinFixture(3000);
    await fx.conn.query('CREATE TABLE small (id INT PRIMARY KEY, v INT)');
    await fx.conn.query('CREATE TABLE gone (id INT PRIMARY KEY)');
    const service = services.use(new DeployService({ targets: { main: fx.target }, pollMs: 100, stateSchema: `_sb_${fx.target.database}` }));
    const files = {
      ...fx.files,
      'small.sql': 'CREATE TABLE small (id INT PRIMARY KEY, v INT, w INT NULL);',
      'audit.sql': 'CREATE TABLE audit (id BIGINT PRIMARY KEY, what VARCHAR(100) NOT NULL);',
      '.schemabot.yml': 'lint:\n  drop-table: warning\n',
    };
    const { deploy, created } = await service.submit({ target: 'main', files, clientKey: 'pr-1', cutover: 'gated', actor: 'alice' });
    expect(created).toBe(true);
    expect(deploy.migrations.map((m) => [m.table, m.method])).toEqual(expect.arrayContaining([
      ['t', 'online'], ['small', 'direct'], ['audit', 'create'], ['gone', 'drop'],
    ]));
    const again = await service.submit({ target: 'main', files, clientKey: 'pr-1', cutover: 'gated', actor: 'alice' });
    expect(again).toMatchObject({ created: false, deploy: { id: deploy.id } });

    await expect(service.command(deploy.id, 'cutover', 'bob')).rejects.toBeInstanceOf(WrongState);
    service.startWorker();
    const ready = await waitForDeploy(service, deploy.id, 'ready-to-cutover');
    expect(ready.percent).toBe(100);
    // Gated: it keeps waiting (and applying writes) until released; nothing is live yet.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await service.get(deploy.id)).state).toBe('ready-to-cutover');
    const [pending] = await fx.conn.query<RowDataPacket[]>("SHOW TABLES LIKE 'audit'");
    expect(pending).toHaveLength(0);

    await service.command(deploy.id, 'cutover', 'carol');
    const complete = await waitForDeploy(service, deploy.id, 'complete');
    expect(complete.migrations.every((m) => m.stage === 'complete')).toBe(true);
    const result = await fx.compare();
    expect(result.definitions[0]).toBe(result.definitions[1]);
    expect(result.rows[0]).toEqual(result.rows[1]);
    const [tables] = await fx.conn.query<RowDataPacket[]>('SHOW TABLES');
    const names = tables.map((r) => String(Object.values(r)[0]));
    expect(names).toEqual(expect.arrayContaining(['audit', 't__old', `gone__dropped${deploy.id.split('.')[1]}`]));
    expect(names).not.toContain('gone');
    expect(names).not.toContain('t__gho');
    const events = await service.events(deploy.id);
    expect(events.map((e) => e.kind)).toEqual(expect.arrayContaining(['submitted', 'started', 'ready', 'cutover-requested', 'cutover-started', 'complete']));
    expect(events.find((e) => e.kind === 'cutover-requested')?.actor).toBe('carol');
    await fx.conn.end();
  });
});

describe('pause', () => {
  it('holds a released cut-over while paused, applying the writes meanwhile; resumed, the deploy completes', async () => {
    const fx = await twinFixture(2000);
    const service = services.use(new DeployService({ targets: { main: fx.target }, pollMs: 100, stateSchema: `_sb_${fx.target.database}` }));
    const { deploy } = await service.submit({ target: 'main', files: fx.files, clientKey: 'paused', cutover: 'gated', actor: 'alice' });
    service.startWorker();
    await waitForDeploy(service, deploy.id, 'ready-to-cutover');
    await service.command(deploy.id, 'pause', 'bob');
    await service.command(deploy.id, 'cutover', 'carol');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await service.get(deploy.id)).toMatchObject({ state: 'ready-to-cutover', paused: true, cutoverRequestedBy: 'carol' });
    expect((await service.events(deploy.id)).map((e) => e.kind)).not.toContain('cutover-started');

    await service.command(deploy.id, 'resume', 'bob');
    await waitForDeploy(service, deploy.id, 'complete');
    const events = await service.events(deploy.id);
    expect(events.find((e) => e.kind === 'cutover-started')?.message).toBe('cut-over started (released by carol)');
    const result = await fx.compare();
    expect(result.definitions[0]).toBe(result.definitions[1]);
    expect(result.rows[0]).toEqual(result.rows[1]);
    await fx.conn.end();
  });
});

describe('retention', () => {
  it('drops kept originals and dropped tables once their retention ends, and says so', async () => {
    const fx = await twinFixture(500, 1, 5);
    await fx.conn.query('CREATE TABLE gone (id INT PRIMARY KEY)');
    const options = { targets: { main: fx.target }, pollMs: 100, stateSchema: `_sb_${fx.target.database}`, retentionSeconds: 1 };
    const first = services.use(new DeployService(options));
    const files = { ...fx.files, '.schemabot.yml': 'lint:\n  drop-table: warning\n' };
    const { deploy } = await first.submit({ target: 'main', files, clientKey: 'retention', actor: 'alice' });
    first.startWorker();
    await waitForDeploy(first, deploy.id, 'complete');
    await first.stop();
    await new Promise((r) => setTimeout(r, 1_200));
    // A runner's first look at a target sweeps what has expired.
    const second = services.use(new DeployService(options));
    second.startWorker();
    const tables = async () => (await fx.conn.query<RowDataPacket[]>('SHOW TABLES'))[0].map((r) => String(Object.values(r)[0]));
    const retention = async () => (await second.events(deploy.id)).filter((e) => e.kind === 'retention').map((e) => e.message);
    // The sweep drops a table, then records the event: wait for both, for both tables.
    const swept = async () => {
      const left = await tables();
      return !left.includes('t__old') && !left.some((t) => t.startsWith('gone__dropped'))
        && (await retention()).some((m) => /^dropped `t__old`: its retention ended/.test(m));
    };
    for (const deadline = Date.now() + 10_000; !(await swept());) {
      if (Date.now() > deadline) throw new Error(`not swept: tables ${(await tables()).join(', ')}; events ${(await retention()).join('; ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await expect(second.revertImpact(deploy.id)).rejects.toThrow(/is gone/);
    await fx.load.stop();
    await fx.conn.end();
  });
});
