// The schema files sent to the runner, checked against the runner's own limits before anything is
// read whole: the names it accepts, at most 1000 files and 2 MB in all. A pull request controls
// these files, so neither their number nor their size may cost more than that.
import { SCHEMA_FILE_NAME } from '../runner/client/runner-client.ts';
import { ActionFailure } from './failure.ts';
import { oneLine } from './log-text.ts';

const MAX_FILES = 1000;
const MAX_BYTES = 2 * 1024 * 1024;

/** Files the planner reads: `*.sql` and the lint configuration beside them; everything else is no concern of ours. */
export function isPlannerFile(name: string): boolean {
  return name.endsWith('.sql') || /^\.schemabot\.ya?ml$/.test(name);
}

export class SchemaFileSet {
  readonly files: Record<string, string> = {};
  private count = 0;
  private bytes = 0;

  /** Adds the file `read` returns, unless it breaks a limit (then before reading it). `where` is its path in the repository. */
  async add(name: string, size: number, where: string, read: () => string | Promise<string>): Promise<void> {
    if (!SCHEMA_FILE_NAME.test(name)) {
      throw new ActionFailure(`${oneLine(where, 200)}: not a name the runner accepts for a schema file (letters, digits, _ . - and .sql); `
        + 'rename it: leaving it out would plan its table as dropped');
    }
    this.count++;
    this.bytes += size;
    if (this.count > MAX_FILES) throw new ActionFailure(`more than ${MAX_FILES} schema files: the runner plans at most ${MAX_FILES}`);
    if (this.bytes > MAX_BYTES) throw new ActionFailure(`the schema files hold more than ${MAX_BYTES} bytes: the runner plans at most that`);
    this.files[name] = await read();
  }

  get empty(): boolean {
    return this.count === 0;
  }
}
