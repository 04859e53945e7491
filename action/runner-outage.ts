// A runner that cannot be reached, or answers 5xx, while a job waits on a deploy: a restart or a
// redeploy of the runner, or its database restarting. That is no verdict on the deploy (the runner
// resumes it), so a waiting command keeps polling until its deadline, saying once per outage that
// the runner is away and once that it is back. Only once the runner has answered: a runner that
// never does is more likely a wrong URL, which should fail at once rather than after the timeout.
import * as core from '@actions/core';
import { RunnerError } from '../runner/client/runner-client.ts';
import { failureMessage } from './failure.ts';

export type Attempt<T> = { ok: true; value: T } | { ok: false };

function isTransient(err: unknown): err is RunnerError {
  return err instanceof RunnerError && (err.status === 0 || err.status >= 500);
}

export class RunnerOutage {
  private last: RunnerError | undefined;
  private answered = false;

  /** `read`'s value, or `ok: false` when the runner, which answered before, is away; any other error is thrown. */
  async attempt<T>(read: () => Promise<T>): Promise<Attempt<T>> {
    try {
      const value = await read();
      if (this.last) core.info('The runner answers again');
      this.last = undefined;
      this.answered = true;
      return { ok: true, value };
    } catch (err) {
      if (!this.answered || !isTransient(err)) throw err;
      if (!this.last) core.warning(`${failureMessage(err)}: waiting for it until the timeout`);
      this.last = err;
      return { ok: false };
    }
  }

  /** For a timeout message: why the last poll got no answer, if it did not. */
  get note(): string {
    return this.last ? `; the runner did not answer the last poll: ${failureMessage(this.last)}` : '';
  }
}
