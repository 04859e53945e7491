// A deploy of a schema whose foreign keys form a cycle (sakila's store ↔ staff), from an empty
// database: the tables are created referenced-first and the key that closes the cycle is added to
// the new, empty table right after; nothing is copied online. A change the server can only make by a
// blocking copy is refused at submit, before anything runs.
import { describe, expect, it } from 'vitest';
import { DeployService } from '../../runner/queue/deploy-service.ts';
import { freshDatabase } from '../support/database.ts';
import { stopServiceAfterEach, waitForDeploy } from '../support/deploy-fixture.ts';
import { SAKILA } from '../support/sample-schemas.ts';

const services = stopServiceAfterEach();
const files = Object.fromEntries(Object.entries(SAKILA).map(([table, sql]) => [`${table}.sql`, `${sql};\n`]));

describe('deploys with foreign keys', () => {
  it('creates a schema with a foreign-key cycle from nothing, and a second plan finds nothing to do', async () => {
    const { target, conn } = await freshDatabase('fkdeploy');
    const service = services.use(new DeployService({ targets: { main: target }, pollMs: 100, stateSchema: `_sb_${target.database}` }));
    const { deploy } = await service.submit({ target: 'main', files, clientKey: 'sakila', actor: 'alice' });
    expect(deploy.migrations.every((m) => m.method !== 'online')).toBe(true);
    expect(deploy.migrations.filter((m) => m.method === 'direct').map((m) => m.table)).toEqual(['staff']);
    service.startWorker();
    await waitForDeploy(service, deploy.id, 'complete');
    const { plan } = await service.plan({ target: 'main', files });
    expect(plan.changes).toEqual([]);
    await conn.end();
  });

  it('refuses at submit a change only a blocking table copy can make', async () => {
    const { target, conn } = await freshDatabase('fkdeploy');
    await conn.query('CREATE TABLE legacy (id INT PRIMARY KEY, v INT) ENGINE=MyISAM');
    const service = services.use(new DeployService({ targets: { main: target }, stateSchema: `_sb_${target.database}` }));
    await expect(service.submit({ target: 'main', files: { 'legacy.sql': 'CREATE TABLE legacy (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;' }, clientKey: 'engine', actor: 'alice' }))
      .rejects.toThrow(/`legacy` needs a table copy that cannot run online \(.+\): schemabot does not deploy it; run it in a maintenance window/);
    expect(await service.list({})).toEqual([]);
    await conn.end();
  });
});
