import type { CutOverGate } from '../../runner/engine/online-migration.ts';

/** A cut-over gate the test opens by hand; `reached` resolves once the migration waits at it. */
export function manualGate(): { gate: CutOverGate; reached: Promise<void>; release: () => void } {
  let arrived!: () => void;
  let open!: () => void;
  const reached = new Promise<void>((r) => { arrived = r; });
  const opened = new Promise<void>((r) => { open = r; });
  return {
    gate: { describe: () => 'test gate', wait: () => { arrived(); return opened; } },
    reached,
    release: () => open(),
  };
}
