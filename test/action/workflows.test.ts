// action.yml and the workflows that use it agree: node24 running the committed bundle, and the
// example workflows pass only inputs the Action declares (every required one) and read only
// outputs it sets, so a team can copy them as they are.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../scripts/build-action.ts';

interface Step { uses?: string; id?: string; with?: Record<string, unknown> }
interface Workflow { jobs: Record<string, { steps: Step[]; environment?: string }> }

const action = parse(readFileSync(join(REPO_ROOT, 'action.yml'), 'utf8')) as {
  runs: { using: string; main: string };
  inputs: Record<string, { required?: boolean }>;
  outputs: Record<string, unknown>;
};
const examplesDir = join(REPO_ROOT, 'examples', 'workflows');
const examples = readdirSync(examplesDir).map((name) => ({ name, text: readFileSync(join(examplesDir, name), 'utf8') }));

describe('action.yml and the example workflows', () => {
  it('runs the committed bundle on node24', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
  });

  it('use only declared inputs, every required one, and only declared outputs', () => {
    const required = Object.entries(action.inputs).filter(([, input]) => input.required).map(([name]) => name);
    let steps = 0;
    for (const { name, text } of examples) {
      const workflow = parse(text) as Workflow;
      for (const job of Object.values(workflow.jobs)) {
        for (const step of job.steps.filter((s) => s.uses?.startsWith('schemabot/schemabot@'))) {
          steps++;
          const inputs = Object.keys(step.with ?? {});
          expect(inputs.filter((input) => !(input in action.inputs)), name).toEqual([]);
          expect(required.filter((input) => !inputs.includes(input)), name).toEqual([]);
          if (step.with?.command === 'cutover') expect(job.environment, `${name}: a cutover job is gated by an environment`).toBe('production-schema');
        }
      }
      const outputs = [...text.matchAll(/\.outputs\.([a-z-]+)/g)].map((m) => m[1]);
      expect(outputs.filter((output) => !(output in action.outputs)), name).toEqual([]);
    }
    expect(steps).toBe(4);
  });
});
