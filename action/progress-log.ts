// Progress in the job log without flooding it: a line at every change of state (stateKey), and
// otherwise at most one every 10 seconds however often the deploy is polled.
import * as core from '@actions/core';
import type { DeployView } from '../runner/client/runner-client.ts';
import { describeDeploy, stateKey } from './progress-line.ts';

export const PROGRESS_INTERVAL_MS = 10_000;

export class ProgressLog {
  private lastKey: string | undefined;
  private lastAt = -Infinity;

  constructor(private readonly print: (line: string) => void = core.info, private readonly now: () => number = Date.now) {}

  report(deploy: DeployView): void {
    const key = stateKey(deploy);
    const at = this.now();
    if (key === this.lastKey && at - this.lastAt < PROGRESS_INTERVAL_MS) return;
    this.lastKey = key;
    this.lastAt = at;
    this.print(describeDeploy(deploy));
  }
}
