// CI's check that the committed bundle is what the sources build: the check step of ci.yml, run as CI
// runs it, in a repository whose dist/ is clean, has a changed file, a new untracked file or a deleted
// one. And the suite runs on Node 20 and on Node 24, which GitHub runs the Action with.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../scripts/build-action.ts';

interface Step { name?: string; run?: string }
const ci = parse(readFileSync(join(REPO_ROOT, '.github', 'workflows', 'ci.yml'), 'utf8')) as {
  jobs: { test: { strategy?: { matrix?: { node?: number[] } }; steps: Step[] } };
};
const check = ci.jobs.test.steps.find((s) => s.name === 'The committed Action bundle is what the sources build')!.run!;

function repoWithDist(): string {
  const dir = mkdtempSync(join(tmpdir(), 'schemabot-ci-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, env: { PATH: process.env.PATH, HOME: dir, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' } });
  mkdirSync(join(dir, 'dist'));
  writeFileSync(join(dir, 'dist', 'index.js'), 'export {};\n');
  writeFileSync(join(dir, 'dist', 'licenses.txt'), 'MIT\n');
  git('init', '-q');
  git('add', '-A');
  git('commit', '-q', '-m', 'dist');
  return dir;
}

const runCheck = (dir: string) => spawnSync('bash', ['-e', '-c', check], { cwd: dir, encoding: 'utf8' });

describe('ci.yml', () => {
  it('fails the dist check on a changed, a new untracked or a deleted file in dist/, and passes a clean one', () => {
    expect(runCheck(repoWithDist()).status).toBe(0);
    const changed = repoWithDist();
    writeFileSync(join(changed, 'dist', 'index.js'), 'export const x = 1;\n');
    const added = repoWithDist();
    writeFileSync(join(added, 'dist', 'chunk-1.js'), 'export {};\n');
    const deleted = repoWithDist();
    rmSync(join(deleted, 'dist', 'licenses.txt'));
    for (const dir of [changed, added, deleted]) {
      const result = runCheck(dir);
      expect(result.status).toBe(1);
      expect(result.stdout).toContain('::error file=dist/index.js::dist/ is stale');
    }
  });

  it('runs the tests on Node 20 and Node 24', () => {
    expect(ci.jobs.test.strategy?.matrix?.node).toEqual([20, 24]);
  });
});
