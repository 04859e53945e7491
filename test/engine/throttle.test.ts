// Throttling pauses the copy (never the binlog applier): on Threads_running, and on the lag of a real
// replica measured from the changelog heartbeat it replicates. The index build waits for it to lift.
import type { RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { connect } from '../../runner/db/connect.ts';
import { parseDsn } from '../../runner/db/dsn.ts';
import { startEmbeddedServer } from '../../runner/embedded/mariadb.ts';
import { OnlineMigration, runOnlineMigration } from '../../runner/engine/online-migration.ts';
import type { ProgressSink, ProgressSnapshot } from '../../runner/engine/progress.ts';
import { freshDatabase } from '../support/database.ts';
import { postponedMigration } from '../support/manual-gate.ts';

function recordingProgress(): ProgressSink & { snapshots: ProgressSnapshot[] } {
  const snapshots: ProgressSnapshot[] = [];
  return { snapshots, update: (s) => { snapshots.push(s); }, log() {}, stop() {} };
}

async function until(condition: () => boolean, what: string, seen: () => unknown = () => ''): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last seen: ${JSON.stringify(seen())})`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('throttling', () => {
  it('pauses the copy while Threads_running is above the limit', async () => {
    const { target, conn } = await freshDatabase('throttle');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    await conn.query('INSERT INTO t SELECT seq, seq FROM seq_1_to_3000');
    // The sleepers keep Threads_running above the limit until the copy has been seen throttled.
    const sleepers = await Promise.all(Array.from({ length: 4 }, () => connect(target)));
    const ids = await Promise.all(sleepers.map(async (c) => (await c.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id'))[0][0].id as number));
    const sleeping = Promise.all(sleepers.map((c) => c.query('SELECT SLEEP(60)').catch(() => undefined)));
    const progress = recordingProgress();
    const migration = runOnlineMigration({ target, table: 't', alter: 'ADD COLUMN w INT', chunkSize: 100, maxThreadsRunning: 3, progress });
    const throttled = () => progress.snapshots.filter((s) => s.state === 'copying' && s.throttle);
    await until(() => throttled().length > 0, 'a Threads_running throttle', () => progress.snapshots.at(-1));
    expect(throttled()[0].throttle).toMatch(/^Threads_running=\d+ > 3$/);
    for (const id of ids) await conn.query(`KILL QUERY ${id}`);
    await sleeping;
    const result = await migration;
    expect(result.rowsCopied).toBe(3000);
    for (const c of [...sleepers, conn]) await c.end();
  });

  it('pauses the copy while a replica lags, and the replica ends up migrated too', async () => {
    const replica = await startEmbeddedServer({ extraArgs: ['--server-id=2'] });
    const primaryAdmin = await connect(parseDsn(`mysql://root@127.0.0.1:${inject('mariadbPort')}/mysql`));
    const replicaAdmin = await connect(parseDsn(replica.dsn('mysql')));
    try {
      // The database exists on both before replication starts; everything after it replicates.
      const { target, conn } = await freshDatabase('replicated');
      await replicaAdmin.query(`CREATE DATABASE \`${target.database}\``);
      const [[status]] = await primaryAdmin.query<RowDataPacket[]>('SHOW MASTER STATUS');
      await replicaAdmin.query(`CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${inject('mariadbPort')},
        MASTER_USER = 'root', MASTER_PASSWORD = '', MASTER_LOG_FILE = ?, MASTER_LOG_POS = ?`, [status.File, Number(status.Position)]);
      await replicaAdmin.query('START SLAVE');
      await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
      await conn.query('INSERT INTO t SELECT seq, seq FROM seq_1_to_60000');

      const progress = recordingProgress();
      // Small chunks keep the copy going for seconds, long enough for the replica's heartbeat to age.
      const chunkSize = 20;
      const migration = runOnlineMigration({
        target, table: 't', alter: 'MODIFY v BIGINT', chunkSize, copyThreads: 2, maxLagMs: 300,
        replicas: [parseDsn(replica.dsn(target.database))], progress,
      });
      // Wait until the copy runs (the replica has its heartbeat), then stop the replica's SQL thread: the heartbeat ages.
      await until(() => progress.snapshots.some((s) => s.state === 'copying' && s.rowsCopied > 0), 'the copy to start');
      await replicaAdmin.query('STOP SLAVE SQL_THREAD');
      // A lag of a second or more can only be the stopped replica (heartbeats come every 200 ms), and from
      // then on every check sees it: only the chunk each worker had already started may still commit.
      const stopped = progress.snapshots.length;
      const frozenLag = (s: ProgressSnapshot) => Number(/lag (\d+) ms > 300 ms/.exec(s.throttle ?? '')?.[1] ?? 0) >= 1_000;
      await until(() => progress.snapshots.slice(stopped).some(frozenLag), 'a replica-lag throttle', () => progress.snapshots.at(-1));
      const copiedWhenThrottled = progress.snapshots.at(-1)!.rowsCopied;
      await new Promise((r) => setTimeout(r, 1_000));
      expect(progress.snapshots.at(-1)!.rowsCopied - copiedWhenThrottled).toBeLessThanOrEqual(2 * chunkSize);
      await replicaAdmin.query('START SLAVE SQL_THREAD');
      const result = await migration;
      expect(result.rowsCopied).toBe(60000);

      const replicaConn = await connect(parseDsn(replica.dsn(target.database)));
      for (let i = 0; i < 200; i++) {
        const [[col]] = await replicaConn.query<RowDataPacket[]>("SHOW COLUMNS FROM t LIKE 'v'");
        if (col.Type === 'bigint(20)') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const [[col]] = await replicaConn.query<RowDataPacket[]>("SHOW COLUMNS FROM t LIKE 'v'");
      expect(col.Type).toBe('bigint(20)');
      const [[sum]] = await replicaConn.query<RowDataPacket[]>('SELECT COUNT(*) AS n, SUM(v) AS s FROM t');
      expect([Number(sum.n), Number(sum.s)]).toEqual([60000, 1800030000]);
      await replicaConn.end();
      await conn.end();
    } finally {
      await replicaAdmin.query('STOP SLAVE').catch(() => undefined);
      await replicaAdmin.end();
      await primaryAdmin.end();
      await replica.stop();
    }
  });

  it('holds the index build and verification after the copy until the throttle lifts', async () => {
    const { target, conn } = await freshDatabase('throttle_build');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT, KEY kv (v))');
    await conn.query('INSERT INTO t SELECT seq, seq FROM seq_1_to_3000');
    const progress = recordingProgress();
    let reason: string | undefined;
    const migration = new OnlineMigration({ target, table: 't', alter: 'ADD COLUMN w INT', chunkSize: 500, progress, throttleReason: () => reason });
    try {
      await migration.start();
      await migration.copy();
      // Throttled from the moment the copy is done: the build and verification must not start.
      reason = 'paused by the test';
      const built = migration.buildIndexesAndVerify();
      await until(() => progress.snapshots.some((s) => s.throttle === 'paused by the test'), 'the throttle after the copy',
        () => progress.snapshots.at(-1));
      await new Promise((r) => setTimeout(r, 1_000));
      expect(progress.snapshots.map((s) => s.state)).not.toContain('building-indexes');
      expect(progress.snapshots.map((s) => s.state)).not.toContain('verifying');
      const [[shadow]] = await conn.query<RowDataPacket[]>('SHOW CREATE TABLE t__gho');
      expect(shadow['Create Table']).not.toMatch(/KEY `kv`/);
      reason = undefined;
      await built;
      expect(progress.snapshots.map((s) => s.state)).toContain('building-indexes');
      await migration.catchUp();
      await migration.cutOver();
    } finally {
      await migration.close();
    }
    const [[live]] = await conn.query<RowDataPacket[]>('SHOW CREATE TABLE t');
    expect(live['Create Table']).toMatch(/KEY `kv`/);
    await conn.end();
  });

  it('reports the lag honestly while the applier is blocked', async () => {
    const { target, conn } = await freshDatabase('lag');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v INT)');
    await conn.query('INSERT INTO t SELECT seq, seq FROM seq_1_to_1000');
    const progress = recordingProgress();
    const { migration, release } = await postponedMigration({ target, table: 't', alter: 'MODIFY v BIGINT', progress });
    // Someone holds a row of the shadow table: the applier waits on it, heartbeats keep coming.
    const blocker = await connect(target);
    await blocker.query('BEGIN');
    await blocker.query('SELECT * FROM t__gho WHERE id = 5 FOR UPDATE');
    await conn.query('UPDATE t SET v = v + 1 WHERE id = 5');
    await until(() => progress.snapshots.some((p) => p.lagMs >= 2_000), 'the lag to show the blocked applier', () => progress.snapshots.at(-1));
    await blocker.query('COMMIT');
    await until(() => progress.snapshots.at(-1)!.lagMs < 1_000, 'the lag to fall once the applier runs again', () => progress.snapshots.at(-1));
    release();
    await migration;
    const [[row]] = await conn.query<RowDataPacket[]>('SELECT v FROM t WHERE id = 5');
    expect(Number(row.v)).toBe(6);
    await blocker.end();
    await conn.end();
  });
});
