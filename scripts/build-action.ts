// Bundles the GitHub Action (action/index.ts) into the single committed file dist/index.js that
// action.yml runs. The output must be byte-for-byte reproducible from the locked dependencies, so
// that CI (and test/action/dist.test.ts) can rebuild it and fail on any difference: no timestamps,
// no absolute paths, no minifier name choices that depend on the machine.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const COMMITTED_BUNDLE = join(REPO_ROOT, 'dist', 'index.js');

/** Builds the bundle to `outfile` and returns its bytes. */
export async function buildAction(outfile = COMMITTED_BUNDLE): Promise<Buffer> {
  await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: ['action/index.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    // GitHub runs it on node24; the tests (and CI here) run it on Node 20.
    target: 'node20',
    // Some dependencies are CommonJS and call require() for Node built-ins: give the ESM bundle one.
    banner: { js: "import { createRequire as __schemabotCreateRequire } from 'node:module';\nconst require = __schemabotCreateRequire(import.meta.url);" },
    legalComments: 'eof',
    charset: 'utf8',
    logLevel: 'warning',
  });
  return readFileSync(outfile);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const bytes = await buildAction(process.argv[2] ? resolve(process.argv[2]) : COMMITTED_BUNDLE);
  console.log(`dist bundle: ${bytes.length} bytes`);
}
