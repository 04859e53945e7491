// The "environment" input names a runner target, and also the plan JSON file: anything but a target
// name (a path, for one) fails the step before the runner is asked.
import { describe, expect, it } from 'vitest';
import { suiteFixture, workspaceWith } from './action-fixture.ts';
import { runAction } from './action-run.ts';

describe('action: the environment input', () => {
  const fx = suiteFixture({ worker: false });

  it('is refused when it is not a target name', async () => {
    const workspace = workspaceWith({ 'orders.sql': 'CREATE TABLE orders (\n  id INT NOT NULL,\n  PRIMARY KEY (id)\n);\n' });
    const callsBefore = fx.api.logs.filter((l) => l.includes('/v1/')).length;
    const run = await runAction({ inputs: { ...fx.runnerInputs, command: 'plan', environment: '../../../tmp/evil' }, workspace });
    expect(run.status).toBe(1);
    expect(run.annotations).toEqual([{ level: 'error', properties: {}, message: 'input "environment" must be a target name of the runner (a-z, 0-9, _ and -; got "../../../tmp/evil")' }]);
    expect(run.outputs['plan-json']).toBeUndefined();
    expect(fx.api.logs.filter((l) => l.includes('/v1/')).length).toBe(callsBefore);
  });
});
