// The `timeout-minutes` budget of a waiting command, and the pause between two polls of the runner.
import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from './progress-line.ts';

const POLL_MS = 2_000;

export class Deadline {
  private readonly end: number;

  constructor(readonly minutes: number) {
    this.end = Date.now() + minutes * 60_000;
  }

  get passed(): boolean {
    return Date.now() >= this.end;
  }

  /** Waits one poll interval, or less when the deadline comes first. */
  pause(): Promise<void> {
    return sleep(Math.max(0, Math.min(POLL_MS, this.end - Date.now())));
  }

  toString(): string {
    return formatDuration(this.minutes * 60);
  }
}
