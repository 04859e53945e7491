// A plan as the `schemabot/plan` check run on the pull request's head commit: annotations on the exact
// lines of the .sql files (50 per request, as the API allows), failure when anything would be refused,
// and the plan's Markdown as the summary, cut under the API's limit with a pointer to the comment.
import type { ProbotOctokit } from 'probot';
import type { Plan } from '../runner/client/runner-client.ts';
import { embedRunnerMarkdown, fitWithin } from './markdown.ts';
import type { RepoRef } from './repo-files.ts';

export const CHECK_TEXT_LIMIT = 65_535;
const ANNOTATIONS_PER_REQUEST = 50;
/** Annotations sent per check run (two requests): the rest are only in the summary, so a pull request's files cannot cost unbounded API calls. */
const MAX_ANNOTATIONS = 100;

type Level = 'notice' | 'warning' | 'failure';

export interface Annotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: Level;
  title: string;
  message: string;
}

export interface CheckOutput {
  title: string;
  summary: string;
  /** Shown under the summary: where a long plan goes on. */
  text?: string;
  annotations?: Annotation[];
}

const LEVEL: Record<Plan['findings'][number]['severity'], Level> = { error: 'failure', warning: 'warning', notice: 'notice' };

/** Every problem of the plan at its line; `dir` turns the runner's file names into repository paths. */
export function planAnnotations(plan: Plan, dir: string): Annotation[] {
  const at = (path: string | undefined, line: number | undefined) => {
    const start = Math.max(1, line ?? 1);
    return { path: `${dir}/${path ?? ''}`, start_line: start, end_line: start };
  };
  return [
    ...plan.errors.map((e) => ({ ...at(e.path, e.line), annotation_level: 'failure' as const, title: 'Schema file error', message: e.message })),
    ...plan.changes.filter((c) => c.error).map((c) => ({
      ...at(c.path, c.line), annotation_level: 'failure' as const, title: `${c.table}: cannot be applied`, message: c.error!,
    })),
    ...plan.findings.map((f) => ({
      ...at(f.path, f.line), annotation_level: LEVEL[f.severity], title: `${f.code} ${f.rule} (${f.table})`, message: f.message,
    })),
  ].filter((a) => a.path !== `${dir}/`).map((a) => ({ ...a, title: a.title.slice(0, 255), message: a.message.slice(0, 60_000) }));
}

function planFails(plan: Plan): boolean {
  return plan.errors.length > 0 || plan.changes.some((c) => c.error) || plan.findings.some((f) => f.severity === 'error');
}

/** failure on errors; with warnings, what the repository configured (`warnings`); else success. */
export function planConclusion(plan: Plan, warnings: 'success' | 'neutral'): 'success' | 'failure' | 'neutral' {
  if (planFails(plan)) return 'failure';
  return plan.findings.some((f) => f.severity === 'warning') ? warnings : 'success';
}

export function planTitle(plan: Plan): string {
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const errors = plan.errors.length + plan.changes.filter((c) => c.error).length + plan.findings.filter((f) => f.severity === 'error').length;
  const warnings = plan.findings.filter((f) => f.severity === 'warning').length;
  const parts = [plan.changes.length ? count(plan.changes.length, 'change') : 'no changes'];
  if (errors) parts.push(count(errors, 'error'));
  if (warnings) parts.push(count(warnings, 'warning'));
  return parts.join(' · ');
}

/** The summary leaves room for the note on problems not annotated. */
const SUMMARY_ROOM = CHECK_TEXT_LIMIT - 300;
const CONTINUED = '… continued in the details below.';
const TOO_LONG = '… cut: the plan is longer than a check run holds. `schemabot plan` (or the Action\'s plan job summary) shows all of it.';

/**
 * The plan as the check run's summary and, when longer, its details (`text`): about 130,000
 * characters in all, more than the pull request comment holds (which points here); a plan longer
 * than that says where to see all of it.
 */
export function planOutput(markdown: string): { summary: string; text?: string } {
  const plan = embedRunnerMarkdown(markdown);
  if (plan.length <= SUMMARY_ROOM) return { summary: plan };
  const head = SUMMARY_ROOM - CONTINUED.length - 2;
  return { summary: `${plan.slice(0, head)}\n\n${CONTINUED}`, text: fitWithin(plan.slice(head), CHECK_TEXT_LIMIT, TOO_LONG) };
}

/**
 * Creates a completed check run, sending annotations in batches of 50 (the first with the creation,
 * the rest as updates, which GitHub appends), at most `MAX_ANNOTATIONS`.
 */
export async function createCompletedCheckRun(octokit: ProbotOctokit, repo: RepoRef, run: {
  name: string; headSha: string; conclusion: 'success' | 'failure' | 'neutral'; output: CheckOutput; externalId?: string;
}): Promise<number> {
  const annotations = run.output.annotations ?? [];
  const kept = annotations.slice(0, MAX_ANNOTATIONS);
  const left = annotations.length - kept.length;
  const summary = left > 0
    ? `_${left} more problems are not annotated on their lines (at most ${MAX_ANNOTATIONS} are): they are all in the plan below._\n\n${run.output.summary}`
    : run.output.summary;
  const output = { title: run.output.title, summary, ...(run.output.text ? { text: run.output.text } : {}) };
  const { data } = await octokit.rest.checks.create({
    ...repo, name: run.name, head_sha: run.headSha, status: 'completed', conclusion: run.conclusion,
    external_id: run.externalId, output: { ...output, annotations: kept.slice(0, ANNOTATIONS_PER_REQUEST) },
  });
  for (let i = ANNOTATIONS_PER_REQUEST; i < kept.length; i += ANNOTATIONS_PER_REQUEST) {
    await octokit.rest.checks.update({ ...repo, check_run_id: data.id, output: { ...output, annotations: kept.slice(i, i + ANNOTATIONS_PER_REQUEST) } });
  }
  return data.id;
}
