import { runOnlineMigration, type CutOverGate, type MigrationOptions, type MigrationResult } from '../../runner/engine/online-migration.ts';

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

/**
 * Starts a migration that postpones its cut-over at a manual gate, and returns once it waits there
 * (copy done, binlog applying). `migration` settles when it ends, after `release()` or a failure.
 */
export async function postponedMigration(options: Omit<MigrationOptions, 'postponeCutover'>):
  Promise<{ migration: Promise<MigrationResult>; release: () => void }> {
  const { gate, reached, release } = manualGate();
  const migration = runOnlineMigration({ ...options, postponeCutover: gate });
  // A migration that fails before the gate must not be an unhandled rejection while nobody awaits it.
  migration.catch(() => undefined);
  await Promise.race([reached, migration]);
  return { migration, release };
}
