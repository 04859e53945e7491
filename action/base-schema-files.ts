// The base branch's schema files, read from git at the pull request's base commit, so the plan can
// say what the pull request itself changes. Only when the checkout has that commit
// (actions/checkout with `fetch-depth: 0`); otherwise the plan goes without, and the log says why.
import { execFile } from 'node:child_process';
import { basename, posix } from 'node:path';
import { promisify } from 'node:util';
import { ActionFailure } from './failure.ts';
import { isPlannerFile, SchemaFileSet } from './schema-file-set.ts';

const run = promisify(execFile);

export type BaseFiles = { files: Record<string, string> } | { files?: undefined; reason: string };

/** git gets the job's environment without the step's inputs: the runner token stays in this process. */
function gitEnvironment(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('INPUT_')));
  return { ...env, GIT_TERMINAL_PROMPT: '0' };
}

async function git(workspace: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd: workspace, env: gitEnvironment(), maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' });
  return stdout;
}

interface TreeEntry { mode: string; type: string; oid: string; size: number; path: string }

function parseTree(output: string): TreeEntry[] {
  return output.split('\0').filter(Boolean).map((line) => {
    const [meta, path] = line.split('\t');
    const [mode, type, oid, size] = meta.split(/\s+/);
    return { mode, type, oid, size: Number(size), path };
  });
}

export async function readBaseSchemaFiles(workspace: string, schemaDir: string, baseSha: string | undefined): Promise<BaseFiles> {
  if (!baseSha) return { reason: 'no pull request base commit in this event' };
  try {
    await git(workspace, ['cat-file', '-e', `${baseSha}^{commit}`]);
  } catch {
    return { reason: `the base commit ${baseSha.slice(0, 12)} is not in the checkout (actions/checkout with fetch-depth: 0 brings it)` };
  }
  const pathspec = schemaDir === '.' ? [] : ['--', `${schemaDir}/`];
  const entries = parseTree(await git(workspace, ['ls-tree', '-z', '-l', baseSha, ...pathspec]))
    // Regular blobs only: a symbolic link's blob is its target's name, not a schema.
    .filter((e) => e.type === 'blob' && (e.mode === '100644' || e.mode === '100755') && isPlannerFile(basename(e.path)));
  const set = new SchemaFileSet();
  try {
    for (const entry of entries) {
      await set.add(basename(entry.path), entry.size, posix.join(schemaDir, basename(entry.path)), () => git(workspace, ['cat-file', 'blob', entry.oid]));
    }
  } catch (err) {
    if (err instanceof ActionFailure) return { reason: `the base branch's files cannot be sent: ${err.message}` };
    throw err;
  }
  if (set.empty) return { reason: `the base commit has no schema files in "${schemaDir}"` };
  return { files: set.files };
}
