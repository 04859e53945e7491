// `command: plan` (on pull_request): the runner plans the checked-out schema files against the live
// database, compared with the base branch when the checkout has it. The job summary gets the
// runner's Markdown verbatim (the text the App puts in its pull-request comment), each problem an
// annotation on its line, and any error fails the step.
import * as core from '@actions/core';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlanResult, RunnerClient } from '../runner/client/runner-client.ts';
import { annotatePlan } from './annotations.ts';
import { readBaseSchemaFiles } from './base-schema-files.ts';
import { ActionFailure } from './failure.ts';
import type { GitHubContext } from './github-context.ts';
import { TARGET_NAME, type ActionInputs } from './inputs.ts';
import { resolveTarget } from './runner-target.ts';
import { readWorkspaceSchemaFiles } from './workspace-schema-files.ts';

export interface PlannedWorkspace {
  files: Record<string, string>;
  result: PlanResult;
}

function writePlanJson(result: PlanResult, target: string): string {
  // The target may come from the runner (its only one): never a path of its choosing.
  const name = TARGET_NAME.test(target) ? target : 'target';
  const path = join(process.env.RUNNER_TEMP || tmpdir(), `schemabot-plan-${name}.json`);
  writeFileSync(path, `${JSON.stringify(result.plan, null, 2)}\n`);
  return path;
}

/**
 * Plans the workspace's schema files on `target`: sets the `plan-json` and `has-changes` outputs,
 * writes the job summary and the annotations, and fails when the plan has errors.
 */
export async function planWorkspace(client: RunnerClient, inputs: ActionInputs, context: GitHubContext, target: string): Promise<PlannedWorkspace> {
  const files = await readWorkspaceSchemaFiles(context.workspace, inputs.schemaDir);
  const base = await readBaseSchemaFiles(context.workspace, inputs.schemaDir, context.pullRequest?.baseSha);
  const compared = base.files ? 'compared with the base commit' : `without the base branch: ${base.reason}`;
  core.info(`Planning ${Object.keys(files).length} file(s) of ${inputs.schemaDir} on target ${target}, ${compared}`);
  const result = await client.plan({ target, files, baseFiles: base.files });
  const { plan } = result;
  const path = writePlanJson(result, target);
  core.setOutput('plan-json', path);
  core.setOutput('has-changes', String(plan.changes.length > 0));
  core.info(`${plan.changes.length} change(s), ${plan.findings.length} finding(s), ${plan.errors.length} file error(s); the plan JSON is in ${path}`);
  if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(result.markdown, true).write();
  else core.info('No job summary file (GITHUB_STEP_SUMMARY): the Markdown plan is not written');
  const errors = annotatePlan(plan, inputs.schemaDir);
  if (errors > 0) throw new ActionFailure(`the plan has ${errors} error(s): see the annotations and the job summary`);
  return { files, result };
}

export async function planCommand(client: RunnerClient, inputs: ActionInputs, context: GitHubContext): Promise<void> {
  await planWorkspace(client, inputs, context, await resolveTarget(client, inputs.environment));
}
