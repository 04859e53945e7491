// The plan's problems as workflow annotations on the lines of the schema files: file errors (a file
// that does not load), lint findings at their severity, and changes that cannot be applied. Paths
// from the runner are file names in the schema directory; GitHub wants them from the repository root.
import * as core from '@actions/core';
import { posix } from 'node:path';
import type { Plan } from '../runner/client/runner-client.ts';

interface Annotation {
  level: 'error' | 'warning' | 'notice';
  title: string;
  message: string;
  path?: string;
  line?: number;
}

function annotationsOf(plan: Plan): Annotation[] {
  return [
    ...plan.errors.map((e): Annotation => ({ level: 'error', title: 'schema file error', message: e.message, path: e.path, line: e.line })),
    ...plan.findings.map((f): Annotation => ({ level: f.severity, title: `${f.code} ${f.rule}`, message: f.message, path: f.path, line: f.line })),
    ...plan.changes.filter((c) => c.error).map((c): Annotation => ({
      level: 'error', title: 'cannot be applied', message: `\`${c.table}\`: ${c.error}`, path: c.path, line: c.line,
    })),
  ];
}

/** Emits one annotation per problem; returns how many are errors (each one fails the plan). */
export function annotatePlan(plan: Plan, schemaDir: string): number {
  const annotations = annotationsOf(plan);
  for (const a of annotations) {
    const properties: core.AnnotationProperties = { title: a.title };
    if (a.path) properties.file = posix.join(schemaDir, a.path);
    if (a.path && a.line) properties.startLine = a.line;
    core[a.level](a.message, properties);
  }
  return annotations.filter((a) => a.level === 'error').length;
}
