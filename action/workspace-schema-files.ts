// The pull request's schema files, as checked out in the workspace: the regular files directly in
// the schema directory. A symbolic link is refused, not followed, for a file or on the way to the
// directory: it could point the upload at any file on the machine (/proc/self/environ holds this
// step's token).
import { lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import { ActionFailure } from './failure.ts';
import { oneLine } from './log-text.ts';
import { isPlannerFile, SchemaFileSet } from './schema-file-set.ts';

export async function readWorkspaceSchemaFiles(workspace: string, schemaDir: string): Promise<Record<string, string>> {
  const dir = join(workspace, schemaDir);
  let names: string[];
  let real: string;
  try {
    real = realpathSync(dir);
    names = readdirSync(real).filter(isPlannerFile).sort();
  } catch {
    throw new ActionFailure(`the schema directory "${schemaDir}" is not in the workspace: check the "schema-dir" input and that the repository is checked out`);
  }
  if (relative(realpathSync(workspace), real) !== schemaDir.replace(/^\.$/, '').split('/').join(sep)) {
    throw new ActionFailure(`the schema directory "${schemaDir}" is reached through a symbolic link: schema files must be plain files in the repository`);
  }
  const set = new SchemaFileSet();
  for (const name of names) {
    const path = join(dir, name);
    const where = posix.join(schemaDir, name);
    const stat = lstatSync(path);
    if (stat.isDirectory()) continue;
    if (!stat.isFile()) throw new ActionFailure(`${oneLine(where, 200)}: not a regular file (a symbolic link?): schema files must be plain files`);
    await set.add(name, stat.size, where, () => readFileSync(path, 'utf8'));
  }
  if (set.empty) throw new ActionFailure(`no schema files (*.sql) in "${schemaDir}"`);
  return set.files;
}
