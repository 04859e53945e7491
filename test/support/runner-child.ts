// A runner in its own process, so that tests can kill -9 it. SCHEMABOT_TEST_CRASH_AT makes it kill
// itself at an exact point of the cut-over: `before-rename` (under the lock, the drain done) or
// `after-swap` (tables swapped, not yet recorded). SCHEMABOT_TEST_TRACE=1 prints what the worker does
// as lines on stdout (`poll`, `lease <deploy> <token>`, `run-ended <deploy> <outcome>`), so that a test
// waits for the runner's own steps instead of sleeping (test/support/runner-process.ts reads them).
import { parseDsn } from '../../runner/db/dsn.ts';
import { DeployRunner } from '../../runner/queue/deploy-runner.ts';
import { DeployService } from '../../runner/queue/deploy-service.ts';
import { StateStore } from '../../runner/queue/state-store.ts';

const crashAt = process.env.SCHEMABOT_TEST_CRASH_AT;
const die = () => process.kill(process.pid, 'SIGKILL');
if (crashAt === 'before-rename') {
  const save = StateStore.prototype.saveCutoverPosition;
  StateStore.prototype.saveCutoverPosition = async function (...args) {
    await save.apply(this, args);
    die();
  };
}
if (crashAt === 'after-swap') {
  const setStage = StateStore.prototype.setMigrationStage;
  StateStore.prototype.setMigrationStage = async function (...args) {
    if (args[3] === 'complete' && args[2].method === 'online') die();
    return setStage.apply(this, args);
  };
}

if (process.env.SCHEMABOT_TEST_TRACE === '1') {
  const trace = (line: string) => process.stdout.write(`${line}\n`);
  const active = StateStore.prototype.activeDeployIds;
  StateStore.prototype.activeDeployIds = async function (...args) {
    const ids = await active.apply(this, args);
    trace(`poll ${ids.join(',')}`);
    return ids;
  };
  const takeLease = StateStore.prototype.takeLease;
  StateStore.prototype.takeLease = async function (...args) {
    const token = await takeLease.apply(this, args);
    trace(`lease ${args[0]} ${token}`);
    return token;
  };
  // Which checkpoint writes this runner got through, and which its fence refused.
  const checkpointPort = StateStore.prototype.checkpointPort;
  StateStore.prototype.checkpointPort = function (...args) {
    const port = checkpointPort.apply(this, args);
    const traced = <T extends unknown[]>(stream: string, write: (...a: T) => Promise<void>) => async (...a: T) => {
      try {
        await write(...a);
        trace(`checkpoint ${stream}`);
      } catch (err) {
        trace(`checkpoint-refused ${stream} ${String(err).split('\n')[0]}`);
        throw err;
      }
    };
    return { started: port.started, copied: traced('copy', port.copied), applied: traced('apply', port.applied) };
  };
  // Why a run stopped (the first reason wins in the runner too).
  const proto = DeployRunner.prototype as unknown as { stopWith(reason: Error): void };
  const stopWith = proto.stopWith;
  proto.stopWith = function (reason: Error) {
    trace(`stop-reason ${String(reason).split('\n')[0]}`);
    return stopWith.call(this, reason);
  };
  const run = DeployRunner.prototype.run;
  DeployRunner.prototype.run = async function (...args) {
    const deployId = (this as unknown as { deployId: number }).deployId;
    try {
      const outcome = await run.apply(this, args);
      trace(`run-ended ${deployId} ${outcome}`);
      return outcome;
    } catch (err) {
      trace(`run-ended ${deployId} threw ${String(err).split('\n')[0]}`);
      throw err;
    }
  };
}

const service = new DeployService({
  targets: { main: parseDsn(process.env.SCHEMABOT_TEST_DSN!) },
  stateSchema: process.env.SCHEMABOT_TEST_STATE,
  runnerId: process.env.SCHEMABOT_TEST_RUNNER ?? `child-${process.pid}`,
  pollMs: 100,
  migration: { chunkSize: Number(process.env.SCHEMABOT_TEST_CHUNK ?? 200) },
});
service.startWorker();
process.stdout.write('started\n');
process.on('SIGTERM', () => void service.stop().then(() => process.exit(0)));
