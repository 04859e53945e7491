// Whom the runner records for what this job does: the GitHub login that started the workflow when it
// fits the runner's actor pattern, else `github-actions`.
import type { GitHubContext } from './github-context.ts';

const ACTOR = /^[A-Za-z0-9][A-Za-z0-9_.@:[\]-]{0,99}$/;

export function actorOf(context: GitHubContext): string {
  return context.actor && ACTOR.test(context.actor) ? context.actor : 'github-actions';
}
