// Reads what the App needs from a repository through the REST API, with every size and count bounded
// (the contents are untrusted): the configuration file, the paths a pull request touches, and the
// schema files of a directory at a commit.
import type { ProbotOctokit } from 'probot';
import { BlobCache } from './blob-cache.ts';
import { CONFIG_PATH, ConfigError } from './repo-config.ts';

export interface RepoRef {
  owner: string;
  repo: string;
}

/** Names the runner accepts: `name.sql` files, and the directory's own lint settings. */
const SCHEMA_FILE = /^(?:[A-Za-z0-9_.-]{1,128}\.sql|\.schemabot\.ya?ml)$/;
const MAX_FILES = 1000;
const MAX_FILE_BYTES = 512 * 1024;
/** Head and base files travel in one plan request, which the runner caps at 2 MB. */
const MAX_DIR_BYTES = 900 * 1024;
const MAX_PR_FILES = 3000;

/** A schema directory that cannot be planned as it is (too big, a file named so the runner refuses it). */
export class SchemaDirError extends Error {
  override name = 'SchemaDirError';
}

const isNotFound = (err: unknown) => (err as { status?: number }).status === 404;

/** The configuration at `ref`, or undefined when the repository has none (the App then stays silent). */
export async function readConfigText(octokit: ProbotOctokit, repo: RepoRef, ref: string): Promise<string | undefined> {
  try {
    const { data } = await octokit.rest.repos.getContent({ ...repo, path: CONFIG_PATH, ref });
    if (Array.isArray(data) || data.type !== 'file') throw new ConfigError(`${CONFIG_PATH} is not a file`);
    if (data.size > 64 * 1024) throw new ConfigError(`${CONFIG_PATH} is larger than 64 KiB`);
    return Buffer.from(data.content ?? '', 'base64').toString('utf8');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Every path the pull request adds, changes, removes or renames (old and new names). */
export async function changedPaths(octokit: ProbotOctokit, repo: RepoRef, pullNumber: number): Promise<string[]> {
  const paths: string[] = [];
  for await (const { data } of octokit.paginate.iterator(octokit.rest.pulls.listFiles, { ...repo, pull_number: pullNumber, per_page: 100 })) {
    for (const file of data) paths.push(file.filename, ...(file.previous_filename ? [file.previous_filename] : []));
    if (paths.length >= MAX_PR_FILES) break;
  }
  return paths;
}

/** The pull request `sha` is the merge commit of, with the branch it was merged into; undefined for any other commit. */
export async function pullMergedAs(octokit: ProbotOctokit, repo: RepoRef, sha: string): Promise<{ pr: number; baseRef: string } | undefined> {
  let pulls;
  try {
    ({ data: pulls } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({ ...repo, commit_sha: sha, per_page: 20 }));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const pull = pulls.find((p) => p.merge_commit_sha === sha && p.merged_at);
  return pull && { pr: pull.number, baseRef: pull.base.ref };
}

export function touchesDir(paths: string[], dir: string): boolean {
  return paths.some((p) => p.startsWith(`${dir}/`) && !p.slice(dir.length + 1).includes('/'));
}

/** What the contents API lists of a directory at most: a listing this long may have left files out. */
const CONTENTS_LISTING_LIMIT = 1000;

const looksLikeSchemaFile = (name: string) => name.endsWith('.sql') || SCHEMA_FILE.test(name);

/**
 * The directory's schema files at `ref` (name → text); an absent directory has none. Anything that would
 * leave a table out of the files without saying so — and so plan it as dropped — is refused instead: a
 * listing that may be cut, or a schema-file name that is a symbolic link, a directory or a submodule.
 */
export async function readSchemaDir(octokit: ProbotOctokit, repo: RepoRef, dir: string, ref: string): Promise<Record<string, string>> {
  let entries;
  try {
    ({ data: entries } = await octokit.rest.repos.getContent({ ...repo, path: dir, ref }));
  } catch (err) {
    if (isNotFound(err)) return {};
    throw err;
  }
  if (!Array.isArray(entries)) throw new SchemaDirError(`${dir} is not a directory`);
  if (entries.length >= CONTENTS_LISTING_LIMIT) {
    throw new SchemaDirError(`${dir} has ${CONTENTS_LISTING_LIMIT} entries or more, more than GitHub lists at once: keep schema directories under ${CONTENTS_LISTING_LIMIT} entries`);
  }
  const wanted = entries.filter((e) => looksLikeSchemaFile(e.name));
  const special = wanted.find((e) => e.type !== 'file');
  if (special) throw new SchemaDirError(`${dir}/${special.name.slice(0, 140)} is a ${special.type === 'symlink' ? 'symbolic link' : special.type}: schema files must be regular files`);
  const refused = wanted.find((e) => !SCHEMA_FILE.test(e.name));
  if (refused) throw new SchemaDirError(`${dir}/${refused.name.slice(0, 140)}: schema files are named <table>.sql (letters, digits, _ . -)`);
  if (wanted.length > MAX_FILES) throw new SchemaDirError(`${dir} holds ${wanted.length} schema files; at most ${MAX_FILES} are planned`);
  const big = wanted.find((e) => e.size > MAX_FILE_BYTES);
  if (big) throw new SchemaDirError(`${dir}/${big.name} is ${big.size} bytes; a schema file may have at most ${MAX_FILE_BYTES}`);
  const total = wanted.reduce((sum, e) => sum + e.size, 0);
  if (total > MAX_DIR_BYTES) throw new SchemaDirError(`${dir} holds ${total} bytes of schema files; at most ${MAX_DIR_BYTES} are planned`);

  const files: Record<string, string> = {};
  for (const entry of wanted) files[entry.name] = await readBlob(octokit, repo, `${dir}/${entry.name}`, entry.sha);
  return files;
}

/** Schema files of every repository this process serves; a plan request carries at most 2 MB of them. */
const blobs = new BlobCache(32 * 1024 * 1024);

/** A listed file's text; a submodule (which the contents API lists as a file) has no blob and is refused. */
async function readBlob(octokit: ProbotOctokit, repo: RepoRef, path: string, sha: string): Promise<string> {
  const key = `${repo.owner}/${repo.repo}@${sha}`;
  const cached = blobs.get(key);
  if (cached !== undefined) return cached;
  try {
    const { data } = await octokit.rest.git.getBlob({ ...repo, file_sha: sha });
    const text = Buffer.from(data.content, data.encoding === 'base64' ? 'base64' : 'utf8').toString('utf8');
    blobs.set(key, text);
    return text;
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 404 || status === 422) throw new SchemaDirError(`${path.slice(0, 200)} is not a regular file (a submodule?): schema files must be regular files`);
    throw err;
  }
}
