import { existsSync, rmSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { parseDsn } from '../db/dsn.ts';
import { MigrationRefused } from '../engine/errors.ts';
import { runOnlineMigration } from '../engine/online-migration.ts';
import { stderrProgress } from '../engine/progress.ts';
import { flagFileGate } from './flag-file-gate.ts';

/** An integer of at least `min` (0 where 0 means "off"). */
function integer(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer of at least ${min}`);
    return n;
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function migrateCommand(): Command {
  return new Command('migrate')
    .description('alter one table online: shadow table, chunked copy, binlog catch-up, verification, atomic cut-over')
    .requiredOption('--dsn <dsn>', 'mysql://user:pass@host:port/database')
    .requiredOption('--table <table>', 'table to alter')
    .requiredOption('--alter <clauses>', 'ALTER clauses, e.g. "ADD COLUMN c INT NOT NULL DEFAULT 0"')
    .option('--postpone-cutover', 'after copying, keep applying the binlog until released (flag file or SIGUSR2)')
    .option('--postpone-flag-file <path>', 'flag file whose deletion releases the cut-over')
    .option('--chunk-size <rows>', 'fixed rows per copy chunk (default: adaptive, ~50 ms per chunk: a writer waits at most that long for a row being copied)', integer(1))
    .option('--copy-threads <n>', 'connections copying chunks side by side', integer(1), 2)
    .option('--max-lag-ms <ms>', 'pause copying while a replica lags more than this', integer(1), 1500)
    .option('--max-threads-running <n>', 'pause copying while Threads_running exceeds this (0: off)', integer(0), 50)
    .option('--replica-dsn <dsn>', 'replica to watch for lag (repeatable)', collect, [] as string[])
    .option('--allow-drop-column', 'allow an ALTER that drops columns (their data is discarded)')
    .action(async (opts) => {
      const target = parseDsn(opts.dsn);
      const controller = new AbortController();
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => controller.abort());
      const flagFile = opts.postponeCutover
        ? (opts.postponeFlagFile ?? `.schemabot-${target.database}-${opts.table}.postpone`.replace(/[^A-Za-z0-9_.-]/g, '_')) : undefined;
      // Another run may be waiting on it: deleting it would release that run's cut-over.
      if (flagFile && existsSync(flagFile)) {
        throw new MigrationRefused(`the flag file ${flagFile} exists (another migration may be waiting on it): remove it, or pass another `
          + '--postpone-flag-file');
      }
      try {
        const result = await runOnlineMigration({
          target,
          table: opts.table,
          alter: opts.alter,
          chunkSize: opts.chunkSize,
          copyThreads: opts.copyThreads,
          maxLagMs: opts.maxLagMs,
          maxThreadsRunning: opts.maxThreadsRunning,
          replicas: (opts.replicaDsn as string[]).map(parseDsn),
          allowDropColumns: Boolean(opts.allowDropColumn),
          postponeCutover: flagFile ? flagFileGate(flagFile) : undefined,
          progress: stderrProgress(),
          signal: controller.signal,
        });
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } finally {
        if (flagFile) rmSync(flagFile, { force: true });
      }
    });
}
