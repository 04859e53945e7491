// The runner service on a 1M-row table, each scenario on a fresh throwaway server: the cost of
// resuming after kill -9 of the runner process during the copy, the time a revert takes after 10k
// changes against the forward migration, and the runner's peak memory while it migrates under writes.
// It prints; it never asserts.
//   npm run bench:runner          (BENCH_ROWS=200000 npm run bench:runner for a quick look)
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { connect } from '../runner/db/connect.ts';
import type { ConnectionTarget } from '../runner/db/dsn.ts';
import { desiredUsers, followDeploy } from '../runner/cli/demo-command.ts';
import { startEmbeddedServer } from '../runner/embedded/mariadb.ts';
import { createSampleDatabase, usersWriteMix } from '../runner/embedded/sample-data.ts';
import { WriteLoad, type WriteLoadStats } from '../runner/embedded/write-load.ts';
import type { DeployView } from '../runner/queue/deploy-model.ts';
import { DeployService } from '../runner/queue/deploy-service.ts';
import { RunnerProcess } from './runner-process.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const KILLS = 3;
const CHANGES = 10_000;
const WRITERS = 4;
const WRITER_PAUSE_MS = 1;
const TARGET = 'bench';

const say = (line: string) => process.stderr.write(`${line}\n`);
const n = (x: number) => x.toLocaleString('en-US');

interface Bench {
  target: ConnectionTarget;
  dsn: string;
  /** A service without a worker: submits, reads and commands (a runner process or `startWorker` does the work). */
  service: DeployService;
}

/** Runs `scenario` against a new server holding the sample `users` table of ROWS rows. */
async function onFreshServer<T>(scenario: (bench: Bench) => Promise<T>): Promise<T> {
  const server = await startEmbeddedServer({ bufferPool: '1G' });
  const target = await createSampleDatabase(server, TARGET, ROWS);
  const service = new DeployService({ targets: { [TARGET]: target }, pollMs: 100 });
  try {
    return await scenario({ target, dsn: server.dsn(TARGET), service });
  } finally {
    await service.stop();
    await server.stop();
  }
}

async function submitUsersChange(service: DeployService, clientKey: string): Promise<string> {
  const { deploy } = await service.submit({ target: TARGET, files: { 'users.sql': desiredUsers() }, clientKey, cutover: 'auto', actor: 'bench' });
  return deploy.id;
}

const seconds = (since: number) => (performance.now() - since) / 1000;
const isState = (state: DeployView['state']) => (d: DeployView) => d.state === state;
const online = (d: DeployView) => d.migrations.find((m) => m.method === 'online')!;

function checkWriters(stats: WriteLoadStats): WriteLoadStats {
  if (stats.errors > 0) throw new Error(`writers saw ${stats.errors} errors, first: ${stats.firstError}`);
  return stats;
}

interface ResumeOutcome { seconds: number; rowsCopied: number; rowsTotal: number; killedAt: number[]; resumes: number }

/** Waits until the copy has checkpointed (committed with the rows) `atLeast` rows, or is done. */
async function copyCheckpointed(conn: Connection, atLeast: number): Promise<{ rows: number; done: boolean }> {
  for (;;) {
    const [rows] = await conn.query<RowDataPacket[]>("SELECT rows_copied, done FROM _schemabot.checkpoints WHERE stream = 'copy'");
    const checkpoint = rows[0] ? { rows: Number(rows[0].rows_copied), done: Number(rows[0].done) === 1 } : { rows: 0, done: false };
    if (checkpoint.done || checkpoint.rows >= atLeast) return checkpoint;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A deploy run by a runner process, killed with SIGKILL `kills` times during the copy (at even steps of it) and restarted at once. */
async function deployWithKills(kills: number): Promise<ResumeOutcome> {
  return onFreshServer(async (bench) => {
    const conn = await connect(bench.target);
    let runner = await RunnerProcess.start(bench.dsn);
    const killedAt: number[] = [];
    const started = performance.now();
    const id = await submitUsersChange(bench.service, `resume-${kills}`);
    for (let k = 1; k <= kills; k++) {
      const checkpoint = await copyCheckpointed(conn, (ROWS * k) / (kills + 1));
      if (checkpoint.done) break;
      await runner.kill9();
      killedAt.push(checkpoint.rows);
      runner = await RunnerProcess.start(bench.dsn);
    }
    await conn.end();
    const done = await followDeploy(bench.service, id, isState('complete'));
    const outcome = {
      seconds: seconds(started), rowsCopied: online(done).rowsCopied, rowsTotal: online(done).rowsTotal, killedAt,
      resumes: (await bench.service.events(id)).filter((e) => e.kind === 'resumed').length,
    };
    await runner.stop();
    return outcome;
  });
}

interface RevertOutcome { forwardSeconds: number; revertSeconds: number; changes: number }

/** Forward deploy (auto cut-over), CHANGES row changes on the new table, then the revert, each timed. */
async function revertAfterChanges(): Promise<RevertOutcome> {
  return onFreshServer(async (bench) => {
    bench.service.startWorker();
    const forwardStart = performance.now();
    const id = await submitUsersChange(bench.service, 'revert');
    await followDeploy(bench.service, id, isState('complete'));
    const forwardSeconds = seconds(forwardStart);

    const load = new WriteLoad(bench.target, WRITERS, usersWriteMix(ROWS));
    await load.start();
    while (load.stats.operations < CHANGES) await new Promise((r) => setTimeout(r, 10));
    const { operations } = checkWriters(await load.stop());

    const revertStart = performance.now();
    await bench.service.command(id, 'revert', 'bench');
    await followDeploy(bench.service, id, isState('reverted'));
    const revertSeconds = seconds(revertStart);
    say('  where the revert spends its time (events since revert-impact):');
    const events = await bench.service.events(id);
    const from = events.filter((e) => e.kind === 'revert-impact').at(-1)!;
    for (const e of events.filter((x) => x.id >= from.id)) {
      say(`    +${((Date.parse(e.at) - Date.parse(from.at)) / 1000).toFixed(2)} s ${e.kind}: ${e.message.split('\n')[0]}`);
    }
    return { forwardSeconds, revertSeconds, changes: operations };
  });
}

interface MemoryOutcome { idleMb: number; peakMb: number; seconds: number; writes: number }

/** A runner process migrating under WRITERS writers, its RSS sampled every 200 ms from submit to complete. */
async function memoryUnderWrites(): Promise<MemoryOutcome> {
  return onFreshServer(async (bench) => {
    const runner = await RunnerProcess.start(bench.dsn);
    const idle = runner.rssBytes();
    const load = new WriteLoad(bench.target, WRITERS, usersWriteMix(ROWS), WRITER_PAUSE_MS);
    await load.start();
    const peak = runner.samplePeakRss(200);
    const started = performance.now();
    const id = await submitUsersChange(bench.service, 'memory');
    await followDeploy(bench.service, id, isState('complete'));
    const peakBytes = peak();
    const took = seconds(started);
    const { operations } = checkWriters(await load.stop());
    await runner.stop();
    return { idleMb: idle / 2 ** 20, peakMb: peakBytes / 2 ** 20, seconds: took, writes: operations };
  });
}


say(`runner bench: ${n(ROWS)} rows, ALTER from schemas/users.sql as the demo changes it (DECIMAL widening: a table copy)`);
say('resume: deploy with no kill…');
const clean = await deployWithKills(0);
say(`  ${clean.seconds.toFixed(1)} s`);
say(`resume: deploy with ${KILLS} kill -9 of the runner during the copy…`);
const killed = await deployWithKills(KILLS);
say(`  ${killed.seconds.toFixed(1)} s, killed at ${killed.killedAt.map(n).join(', ')} checkpointed rows, ${killed.resumes} resumes`);
say(`revert: forward deploy, ${n(CHANGES)} changes, revert…`);
const revert = await revertAfterChanges();
say(`  forward ${revert.forwardSeconds.toFixed(1)} s, revert ${revert.revertSeconds.toFixed(1)} s`);
say(`memory: runner process migrating under ${WRITERS} writers…`);
const memory = await memoryUnderWrites();
say(`  peak ${memory.peakMb.toFixed(0)} MB`);

const overhead = (killed.seconds / clean.seconds - 1) * 100;
const rows: [string, string, string][] = [
  ['resume: deploy, no kill (submit → complete)', `${clean.seconds.toFixed(1)} s`, 'baseline'],
  [`resume: deploy, ${killed.killedAt.length} × kill -9 while copying`, `${killed.seconds.toFixed(1)} s (+${overhead.toFixed(1)}%)`,
    `${killed.resumes} resumes; killed at ${killed.killedAt.map(n).join(' / ')} rows`],
  ['resume: rows copied in total (deploy view)', `${n(killed.rowsCopied)} of ${n(killed.rowsTotal)}`,
    `no kill: ${n(clean.rowsCopied)}; from zero each time would be ≥ ${n(killed.rowsTotal + killed.killedAt.reduce((a, b) => a + b, 0))}`],
  [`revert after ${n(revert.changes)} changes`, `${revert.revertSeconds.toFixed(1)} s = ${(revert.revertSeconds / revert.forwardSeconds * 100).toFixed(1)}% of forward`,
    `target ≤ 5% of the forward ${revert.forwardSeconds.toFixed(1)} s`],
  [`runner peak RSS, ${WRITERS} writers (${n(memory.writes)} writes)`, `${memory.peakMb.toFixed(0)} MB (idle ${memory.idleMb.toFixed(0)} MB)`,
    `target ≤ 200 MB; deploy took ${memory.seconds.toFixed(1)} s`],
];
const widths = [0, 1, 2].map((i) => Math.max(...[['scenario', 'schemabot', 'reference / target'], ...rows].map((r) => r[i].length)));
const line = (r: string[]) => r.map((cell, i) => cell.padEnd(widths[i])).join(' | ');
process.stdout.write(`\n${ROWS} rows\n${line(['scenario', 'schemabot', 'reference / target'])}\n${widths.map((w) => '-'.repeat(w)).join('-|-')}\n`);
for (const r of rows) process.stdout.write(`${line(r)}\n`);
