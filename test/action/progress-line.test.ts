// The cut-over's progress lines: what one says, that a pull request's table name or error cannot
// break the line (and so start a workflow command), and how often they come: at once on a change of
// state, otherwise at most one per 10 seconds of the (injected) clock.
import { describe, expect, it } from 'vitest';
import type { DeployView, MigrationView } from '../../runner/client/runner-client.ts';
import { ProgressLog } from '../../action/progress-log.ts';
import { describeDeploy, formatDuration } from '../../action/progress-line.ts';

function migration(fields: Partial<MigrationView>): MigrationView {
  return {
    id: 1, table: 'orders', method: 'online', statement: 'ALTER TABLE `orders` …', stage: 'copying',
    rowsCopied: 0, rowsTotal: 0, percent: 0, rowsPerSecond: 0, binlogRowsApplied: 0, lagMs: 0, ...fields,
  };
}

function deploy(fields: Partial<DeployView>, migrations: MigrationView[]): DeployView {
  return {
    id: 'main.4', target: 'main', database: 'shop', state: 'running', cutover: 'gated', paused: false, clientKey: 'k',
    external: {}, submittedBy: 'a', createdAt: '', updatedAt: '', percent: 0, migrations, ...fields,
  };
}

describe('progress lines', () => {
  it('give percent, rows, rate, lag, throttle, blocker and ETA while copying; only what is left after', () => {
    const copying = migration({ rowsCopied: 1_234_567, rowsTotal: 2_870_000, percent: 43.02, rowsPerSecond: 52_000.4, lagMs: 1530, throttle: 'replica-lag', etaSeconds: 372 });
    const direct = migration({ table: 'small', method: 'direct', stage: 'queued' });
    expect(describeDeploy(deploy({ percent: 43, etaSeconds: 372, paused: true }, [copying, direct]))).toBe(
      'main.4 running 43% (paused) ETA 6m 12s: `orders` copying, 43.0% (1,234,567/2,870,000 rows, 52,000 rows/s), lag 1.5 s, throttled: replica-lag, ETA 6m 12s; `small` queued');
    const blocked = migration({ stage: 'cutting-over', rowsCopied: 10, rowsTotal: 10, percent: 100, lagMs: 12, blocker: 'connection 42 (app, 31 s) on `orders`' });
    expect(describeDeploy(deploy({ state: 'cutting-over', percent: 100 }, [blocked]))).toBe(
      'main.4 cutting-over 100%: `orders` cutting-over, 100.0% (10/10 rows, 0 rows/s), lag 12 ms, waiting on connection 42 (app, 31 s) on `orders`');
    const failed = migration({ stage: 'failed', rowsCopied: 2000, error: 'Duplicate entry' });
    expect(describeDeploy(deploy({ state: 'failed', percent: 100 }, [failed]))).toBe('main.4 failed 100%: `orders` failed, 2,000 rows copied, error: Duplicate entry');
  });

  it('keep text from a pull request on one line', () => {
    const hostile = migration({ table: 'x\n::add-mask::y', stage: 'failed', error: 'bad\r\n::error::forged' });
    const line = describeDeploy(deploy({ state: 'failed' }, [hostile]));
    expect(line).not.toMatch(/[\r\n]/);
    expect(line).toBe('main.4 failed 0%: `x ::add-mask::y` failed, error: bad ::error::forged');
  });

  it('come at every change of state, else at most every 10 s', () => {
    let now = 0;
    const printed: string[] = [];
    const log = new ProgressLog((line) => printed.push(line), () => now);
    const at = (seconds: number, view: DeployView) => {
      now = seconds * 1000;
      log.report(view);
    };
    const copying = (percent: number) => deploy({ percent }, [migration({ percent, rowsCopied: percent, rowsTotal: 100 })]);
    at(0, deploy({ state: 'queued' }, [migration({ stage: 'queued' })]));
    at(1, copying(1));
    at(2, copying(2));
    at(10.9, copying(10));
    at(11, copying(11));
    at(12, copying(12));
    at(13, deploy({ percent: 12, paused: true }, [migration({ percent: 12, rowsCopied: 12, rowsTotal: 100 })]));
    at(14, deploy({ state: 'ready-to-cutover', percent: 100 }, [migration({ stage: 'ready-to-cutover', percent: 100 })]));
    expect(printed.map((line) => line.split(':')[0])).toEqual([
      'main.4 queued 0%', 'main.4 running 1%', 'main.4 running 11%', 'main.4 running 12% (paused)', 'main.4 ready-to-cutover 100%',
    ]);
  });

  it('write durations for people', () => {
    expect([0.4, 59, 60, 372, 3599, 3600, 7384].map(formatDuration)).toEqual(['0s', '59s', '1m 00s', '6m 12s', '59m 59s', '1h 00m', '2h 03m']);
  });
});
