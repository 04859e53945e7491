import { existsSync, rmSync, writeFileSync } from 'node:fs';
import type { CutOverGate } from '../engine/online-migration.ts';

/** Postpones cut-over while the flag file exists (gh-ost style); deleting it or SIGUSR2 releases it. */
export function flagFileGate(path: string): CutOverGate {
  writeFileSync(path, 'delete this file (or send SIGUSR2 to the schemabot process) to cut over\n');
  return {
    describe: () => `delete ${path} or run: kill -USR2 ${process.pid}`,
    wait: () => new Promise<void>((resolve) => {
      const release = () => {
        clearInterval(poll);
        process.off('SIGUSR2', release);
        rmSync(path, { force: true });
        resolve();
      };
      const poll = setInterval(() => { if (!existsSync(path)) release(); }, 250);
      process.on('SIGUSR2', release);
    }),
  };
}
