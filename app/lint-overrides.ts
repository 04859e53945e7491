// The repository's lint severities (from .github/schemabot.yml) reach the runner the way it reads them:
// as the schema directory's `.schemabot.yml`, merged over what that file already says.
import { parse, stringify } from 'yaml';
import type { LintSeverity } from './repo-config.ts';

export function withLintOverrides(files: Record<string, string>, lint: Record<string, LintSeverity>): Record<string, string> {
  if (Object.keys(lint).length === 0 || Object.keys(files).length === 0) return files;
  const name = '.schemabot.yml' in files || !('.schemabot.yaml' in files) ? '.schemabot.yml' : '.schemabot.yaml';
  let own: { lint?: Record<string, unknown> } = {};
  try {
    own = (parse(files[name] ?? '') ?? {}) as typeof own;
  } catch {
    // The runner reports the broken file itself when it is kept as it is.
    return files;
  }
  return { ...files, [name]: stringify({ ...own, lint: { ...(own.lint ?? {}), ...lint } }) };
}
