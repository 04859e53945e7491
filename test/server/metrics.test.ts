// The throttle reason label stays bounded: each engine reason maps to a fixed kind.
import { describe, expect, it } from 'vitest';
import { throttleKind } from '../../runner/server/metrics.ts';

describe('throttle reason kinds', () => {
  it.each([
    ['Threads_running=80 > 50', 'threads-running'],
    ['replica db2:3306 lag 2400 ms > 1500 ms', 'replica-lag'],
    ['replica db2:3306 unreachable: connect ECONNREFUSED', 'replica-lag'],
    ['replica db2:3306 has no heartbeat yet', 'replica-lag'],
    ['throttle check failed: Lock wait timeout exceeded', 'check-failed'],
    ['paused by lag-bot via github-app', 'paused'],
    ['something new', 'other'],
  ])('%s → %s', (reason, kind) => {
    expect(throttleKind(reason)).toBe(kind);
  });
});
