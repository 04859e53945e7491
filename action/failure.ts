// The one error type the Action's own checks throw, and the single place where any error becomes
// the job's one-line failure message.
import { RunnerError } from '../runner/client/runner-client.ts';

/** A failure the job reports as it is: the message says what happened and what to do. */
export class ActionFailure extends Error {
  override name = 'ActionFailure';
}

export function failureMessage(err: unknown): string {
  if (err instanceof ActionFailure) return err.message;
  if (err instanceof RunnerError) {
    if (err.status === 0) return err.message;
    return `the runner ${err.status >= 500 ? 'failed' : 'refused'} (${err.code}): ${err.message}`;
  }
  return `unexpected error: ${err instanceof Error ? err.message : String(err)}`;
}
