// The committed dist/index.js is what GitHub runs: it must be exactly what the build makes from the
// sources and the locked dependencies, so `npm test` fails on a stale bundle (rebuild with
// `npm run build:action` and commit dist/). Two builds must also agree byte for byte.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildAction, COMMITTED_BUNDLE } from '../../scripts/build-action.ts';

describe('action bundle', () => {
  it('is reproducible, and the committed dist/index.js is up to date', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'schemabot-dist-'));
    const first = await buildAction(join(dir, 'a', 'index.js'));
    const second = await buildAction(join(dir, 'b', 'index.js'));
    expect(first.equals(second)).toBe(true);
    expect(first.includes(dir)).toBe(false);
    expect(readFileSync(COMMITTED_BUNDLE).equals(first), 'dist/index.js is stale: run `npm run build:action` and commit dist/').toBe(true);
  });
});
