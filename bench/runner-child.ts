// A runner service alone in its process, for bench/runner.ts to kill -9 and to measure: it works on
// the deploys of the one target in BENCH_RUNNER_DSN (state in the default `_schemabot` schema) until
// SIGTERM. Prints `started` once its worker runs.
import { parseDsn } from '../runner/db/dsn.ts';
import { DeployService } from '../runner/queue/deploy-service.ts';

const service = new DeployService({ targets: { bench: parseDsn(process.env.BENCH_RUNNER_DSN!) }, pollMs: 100 });
service.startWorker();
process.stdout.write('started\n');
process.on('SIGTERM', () => void service.stop().then(() => process.exit(0)));
