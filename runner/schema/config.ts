// Per-repository settings: `<schema-dir>/.schemabot.yml`, e.g.
//   lint:
//     SB306: error        # or the rule name: float-for-money: error
//     reserved-word: off
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { LintConfig } from './lint.ts';

export interface RepoConfig {
  lint: LintConfig;
}

const SEVERITIES = new Set(['error', 'warning', 'notice', 'off']);

export function readRepoConfig(schemaDir: string): RepoConfig {
  const path = join(schemaDir, '.schemabot.yml');
  if (!existsSync(path)) return { lint: {} };
  const doc = (parse(readFileSync(path, 'utf8')) ?? {}) as { lint?: Record<string, unknown> };
  const lint: LintConfig = {};
  for (const [rule, severity] of Object.entries(doc.lint ?? {})) {
    if (typeof severity !== 'string' || !SEVERITIES.has(severity)) {
      throw new Error(`${path}: lint.${rule} must be one of error, warning, notice, off (got ${JSON.stringify(severity)})`);
    }
    lint[rule] = severity as LintConfig[string];
  }
  return { lint };
}
