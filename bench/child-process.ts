// A bench helper process (a runner, the writers): a TypeScript script started under tsx, ready once it
// prints `started`, its later output kept. Children still alive when the bench exits are killed.
import { spawn, type ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
process.on('exit', () => { for (const child of live) child.kill('SIGKILL'); });

export interface BenchChild {
  child: ChildProcess;
  exited: Promise<void>;
  /** What it printed after `started`. */
  output(): string;
}

export async function startBenchChild(script: URL, env: Record<string, string>): Promise<BenchChild> {
  const child = spawn(process.execPath, ['--import', 'tsx', script.pathname], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => { live.delete(child); resolve(); }));
  let printed = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
      if (printed.includes('started\n')) resolve();
    });
    void exited.then(() => reject(new Error(`${script.pathname} (pid ${child.pid}) exited before it started`)));
  });
  return { child, exited, output: () => printed.slice(printed.indexOf('started\n') + 'started\n'.length) };
}
