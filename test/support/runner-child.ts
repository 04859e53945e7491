// A runner in its own process, so that tests can kill -9 it. SCHEMABOT_TEST_CRASH_AT makes it kill
// itself at an exact point of the cut-over: `before-rename` (under the lock, the drain done) or
// `after-swap` (tables swapped, not yet recorded).
import { parseDsn } from '../../runner/db/dsn.ts';
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
