// The bench's writers in a process of their own, so that nothing the measured tool does in the bench's
// process (an in-process migration, a blocking spawn) can hold them up or hide their waits. Writes to
// BENCH_LOAD_DSN's BENCH_LOAD_TABLE (BENCH_LOAD_ROWS ids) until SIGTERM, then prints its stats as JSON.
import { parseDsn } from '../runner/db/dsn.ts';
import { WriteLoad } from '../runner/embedded/write-load.ts';
import { benchTable } from './tables.ts';

const load = new WriteLoad(parseDsn(process.env.BENCH_LOAD_DSN!), Number(process.env.BENCH_LOAD_WRITERS),
  benchTable(process.env.BENCH_LOAD_TABLE).writeMix(Number(process.env.BENCH_LOAD_ROWS)), Number(process.env.BENCH_LOAD_PAUSE_MS));
await load.start();
process.stdout.write('started\n');
process.on('SIGTERM', () => void load.stop().then((stats) => process.stdout.write(`${JSON.stringify(stats)}\n`)));
