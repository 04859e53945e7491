// Online migration of a 1M-row table, side by side with native ALTER … ALGORITHM=COPY and, where
// installed, pt-online-schema-change and gh-ost 1.1.5; idle and under a steady write load. Each run gets a fresh
// throwaway server and table, so no run pays for another's dirty pages or binlog.
//   npm run bench               (BENCH_ROWS=200000 npm run bench for a quick look; BENCH_SCENARIOS=idle; BENCH_TABLE=orders;
//                                BENCH_RUNS=1 for one run per tool instead of the median of 3; BENCH_SERVER_ARGS;
//                                BENCH_FLUSH_SEED=0)
import { spawnSync } from 'node:child_process';
import type { RowDataPacket } from 'mysql2/promise';
import { startBenchChild } from './child-process.ts';
import { benchTable } from './tables.ts';
import { connect } from '../runner/db/connect.ts';
import { parseDsn } from '../runner/db/dsn.ts';
import { startEmbeddedServer, type EmbeddedServer } from '../runner/embedded/mariadb.ts';
import { createSampleDatabase } from '../runner/embedded/sample-data.ts';
import type { WriteLoadStats } from '../runner/embedded/write-load.ts';
import { runOnlineMigration } from '../runner/engine/online-migration.ts';
import type { ProgressSink } from '../runner/engine/progress.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Extra mariadbd options for every server, e.g. BENCH_SERVER_ARGS=--innodb-log-file-size=2G (the default is 256M). */
const SERVER_ARGS = (process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean);
/** BENCH_FLUSH_SEED=0 starts each tool with the seed's dirty pages still unflushed (redo log about 90% full). */
const FLUSH_SEED = process.env.BENCH_FLUSH_SEED !== '0';
const WRITERS = 4;
const WRITER_PAUSE_MS = 1;
/** BENCH_TABLE=orders migrates issue 7's table shape instead of the sample `users` (bench/tables.ts). */
const TABLE = benchTable(process.env.BENCH_TABLE);
const ALTER = TABLE.alter;

interface Outcome {
  seconds: number;
  writes?: number;
  longestWriteMs?: number;
  cutOverMs?: number;
  maxLagMs?: number;
  note?: string;
}

type Contender = (server: EmbeddedServer, database: string) => Promise<Omit<Outcome, 'writes' | 'longestWriteMs'>>;

const contenders: Record<string, Contender> = {
  'native ALGORITHM=COPY': async (server, database) => {
    const conn = await connect(parseDsn(server.dsn(database)));
    const started = performance.now();
    await conn.query(`ALTER TABLE ${TABLE.name} ${ALTER}, ALGORITHM=COPY`);
    await conn.end();
    return { seconds: (performance.now() - started) / 1000 };
  },
  schemabot: async (server, database) => {
    let maxLagMs = 0;
    const progress: ProgressSink = { update: (s) => { maxLagMs = Math.max(maxLagMs, s.lagMs); }, log() {}, stop() {} };
    const result = await runOnlineMigration({ target: parseDsn(server.dsn(database)), table: TABLE.name, alter: ALTER, progress });
    const steps = Object.entries(result.stepSeconds).map(([step, seconds]) => `${step} ${seconds.toFixed(2)}`).join(', ');
    return { seconds: result.durationSeconds, cutOverMs: result.cutOverStallMs, maxLagMs, note: `${steps} s` };
  },
  'pt-online-schema-change': async (server, database) => {
    const started = performance.now();
    const run = spawnSync('pt-online-schema-change', [
      '--alter', ALTER, '--execute', '--recursion-method=none', '--no-check-alter', '--max-load', 'Threads_running=50',
      '--critical-load', 'Threads_running=1000', `D=${database},t=${TABLE.name},h=127.0.0.1,P=${server.port},u=root`,
    ], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`pt-online-schema-change failed: ${run.stderr || run.stdout}`);
    return { seconds: (performance.now() - started) / 1000 };
  },
  'gh-ost': async (server, database) => {
    const started = performance.now();
    const run = spawnSync(GH_OST!, [
      '--host=127.0.0.1', `--port=${server.port}`, '--user=root', '--password=', `--database=${database}`, `--table=${TABLE.name}`,
      `--alter=${ALTER}`, '--allow-on-master', '--assume-rbr', '--execute', '--initially-drop-ghost-table',
      '--initially-drop-old-table', '--ok-to-drop-table', '--verbose=false',
    ], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`gh-ost failed: ${(run.stderr || run.stdout).slice(-2000)}`);
    return { seconds: (performance.now() - started) / 1000 };
  },
};

/** gh-ost 1.1.5 (the last release that runs on MariaDB 10.11): $GH_OST, or on PATH, or beside the repository. */
const GH_OST = [process.env.GH_OST, 'gh-ost', 'gh-ost-1.1.5', `${import.meta.dirname}/../../shared/tools/gh-ost-1.1.5`]
  .find((candidate) => candidate && installed(candidate));

function installed(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command]).status === 0;
}

/** The writers, in their own process (write-load-child.ts): started, and a stop that returns their stats. */
async function startWriters(dsn: string): Promise<{ stop(): Promise<WriteLoadStats> }> {
  const writers = await startBenchChild(new URL('./write-load-child.ts', import.meta.url), {
    BENCH_LOAD_DSN: dsn, BENCH_LOAD_TABLE: TABLE.name, BENCH_LOAD_ROWS: String(ROWS), BENCH_LOAD_WRITERS: String(WRITERS), BENCH_LOAD_PAUSE_MS: String(WRITER_PAUSE_MS),
  });
  return {
    async stop() {
      writers.child.kill('SIGTERM');
      await writers.exited;
      return JSON.parse(writers.output()) as WriteLoadStats;
    },
  };
}

const FLUSH_SEED_MS = 60_000;

/**
 * Flushes the seed's dirty pages, so every tool starts on a server in a steady state: right after the
 * 1M-row seed the redo log is about 90% full, and the first tool to write would pay for the seed in
 * InnoDB's synchronous flushing (stalls of every writer). The server's settings are restored after;
 * after a minute it gives up, saying so.
 */
async function flushSeed(server: EmbeddedServer): Promise<void> {
  const conn = await connect(parseDsn(server.dsn('mysql')));
  const [[before]] = await conn.query<RowDataPacket[]>(
    'SELECT @@innodb_io_capacity AS io, @@innodb_io_capacity_max AS ioMax, @@innodb_max_dirty_pages_pct AS dirtyPct');
  try {
    await conn.query('SET GLOBAL innodb_io_capacity_max = 100000, innodb_io_capacity = 100000, innodb_max_dirty_pages_pct = 0');
    const deadline = Date.now() + FLUSH_SEED_MS;
    for (;;) {
      const [[{ dirty }]] = await conn.query<RowDataPacket[]>(
        "SELECT VARIABLE_VALUE AS dirty FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY'");
      if (Number(dirty) < 100) break;
      if (Date.now() > deadline) {
        process.stderr.write(`(the seed still had ${dirty} dirty pages after ${FLUSH_SEED_MS / 1000} s of flushing: this run starts with them)\n`);
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await conn.query('SET GLOBAL innodb_max_dirty_pages_pct = ?, innodb_io_capacity = ?, innodb_io_capacity_max = ?',
      [Number(before.dirtyPct), Number(before.io), Number(before.ioMax)]);
    await conn.end();
  }
}

async function measure(contender: Contender, underLoad: boolean): Promise<Outcome> {
  const server = await startEmbeddedServer({ bufferPool: '1G', extraArgs: SERVER_ARGS });
  try {
    await createSampleDatabase(server, 'bench', ROWS, TABLE.create);
    if (FLUSH_SEED) await flushSeed(server);
    const load = underLoad ? await startWriters(server.dsn('bench')) : undefined;
    const outcome = await contender(server, 'bench');
    const stats = await load?.stop();
    // A tool's own cost to the writers (pt-online-schema-change's triggers deadlock with them) is part of its result.
    const failed = stats?.errors ? `writers saw ${stats.errors} errors (first: ${stats.firstError})` : undefined;
    return { ...outcome, writes: stats?.operations, longestWriteMs: stats?.longestStallMs,
      note: [outcome.note, failed].filter(Boolean).join('; ') || undefined };
  } finally {
    await server.stop();
  }
}

const fmt = (n: number | undefined, digits = 0) => (n === undefined ? '-' : n.toFixed(digits));

/** The run with the median time (the lower middle one for an even count). */
function median(outcomes: Outcome[]): Outcome {
  return [...outcomes].sort((a, b) => a.seconds - b.seconds)[Math.floor((outcomes.length - 1) / 2)];
}

const available: Record<string, boolean> = {
  'pt-online-schema-change': installed('pt-online-schema-change'),
  'gh-ost': GH_OST !== undefined,
};
const names = Object.keys(contenders).filter((n) => available[n] ?? true);
process.stdout.write(`${ROWS} rows, ALTER TABLE ${TABLE.name} ${ALTER}; load: ${WRITERS} writers (update/insert/delete mix)${SERVER_ARGS.length ? `; server ${SERVER_ARGS.join(' ')}` : ''}`
  + `; the seed's dirty pages ${FLUSH_SEED ? 'flushed' : 'not flushed'} before each run\n`);
if (!available['pt-online-schema-change']) process.stdout.write('pt-online-schema-change not installed (apt-get install percona-toolkit)\n');
if (!available['gh-ost']) process.stdout.write('gh-ost not found (set GH_OST=/path/to/gh-ost-1.1.5)\n');
process.stdout.write(`${RUNS} interleaved run(s) per tool and scenario, each on a fresh server; the median run is shown, with the range of all\n`);
process.stdout.write('scenario | tool                    | seconds | range         | rows/s  | vs native | cut-over stall ms | max binlog lag ms | writes | longest write ms | note\n');
const scenarios = (process.env.BENCH_SCENARIOS ?? 'idle,load').split(',') as Array<'idle' | 'load'>;
for (const scenario of scenarios) {
  const runs = new Map<string, Outcome[]>(names.map((name) => [name, []]));
  for (let run = 0; run < RUNS; run++) {
    for (const name of names) runs.get(name)!.push(await measure(contenders[name], scenario === 'load'));
  }
  const native = median(runs.get(names[0])!).seconds;
  for (const name of names) {
    const all = runs.get(name)!;
    const o = median(all);
    const range = `${fmt(Math.min(...all.map((r) => r.seconds)), 2)}–${fmt(Math.max(...all.map((r) => r.seconds)), 2)}`;
    process.stdout.write(`${scenario.padEnd(8)} | ${name.padEnd(23)} | ${fmt(o.seconds, 2).padStart(7)} | ${range.padEnd(13)} | ${fmt(ROWS / o.seconds).padStart(7)} | `
      + `${(o.seconds / native).toFixed(2).padStart(8)}x | ${fmt(o.cutOverMs, 1).padStart(17)} | ${fmt(o.maxLagMs).padStart(17)} | `
      + `${fmt(o.writes).padStart(6)} | ${fmt(o.longestWriteMs, 1).padStart(16)} | ${o.note ?? ''}\n`);
  }
}
