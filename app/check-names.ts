// Names of the App's check runs. A repository with one environment gets the plain names
// (`schemabot/plan`, `schemabot/deploy`, `schemabot/cutover`); with several, each carries its
// environment, e.g. `schemabot/deploy (staging)`.
import { deployTargets, type RepoConfig } from './repo-config.ts';

export type CheckKind = 'plan' | 'deploy' | 'cutover' | 'revert';

/** The suffix for `environment` in this configuration: '' when it is the only one. */
export function environmentLabel(config: RepoConfig, environment: string): string {
  return deployTargets(config).length > 1 ? ` (${environment})` : '';
}

export function checkName(kind: CheckKind, label: string): string {
  return `schemabot/${kind}${label}`;
}
