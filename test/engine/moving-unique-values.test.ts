// A primary-key change where the old key becomes a secondary unique key, while writers keep moving
// values of the new key from row to row: the copy keeps meeting rows whose move the applier has not
// replayed yet. That is a race, not bad data, and must never be reported as "the original table has
// rows that violate a unique key"; real duplicates still are, with the values that prove them.
import type { Connection } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import type { ConnectionTarget } from '../../runner/db/dsn.ts';
import { connect } from '../../runner/db/connect.ts';
import { runOnlineMigration } from '../../runner/engine/online-migration.ts';
import { freshDatabase } from '../support/database.ts';
import { tableRows } from '../support/twin-workload.ts';

const ROWS = 20_000;
const ALTER = 'DROP PRIMARY KEY, ADD PRIMARY KEY (tenant_id, ext), ADD UNIQUE KEY uk_id (id)';
const CREATE = (name: string) => `CREATE TABLE ${name} (id BIGINT NOT NULL PRIMARY KEY, tenant_id INT NOT NULL,
  ext VARCHAR(24) NOT NULL, payload VARCHAR(40) NOT NULL)`;

async function seed(conn: Connection, table: string): Promise<void> {
  for (let from = 1; from <= ROWS; from += 1000) {
    const rows = Array.from({ length: 1000 }, (_, i) => [from + i, (from + i) % 3, `e${from + i}`, `p${from + i}`]);
    await conn.query(`INSERT INTO ${table} VALUES ?`, [rows]);
  }
}

/**
 * Each transaction moves the value of `ext` from a row the copy has passed to one just ahead of it,
 * of the same tenant (the first gets a fresh value), in both the table and its twin: (tenant_id, ext)
 * stays unique at every commit, and the copy keeps reading values its shadow rows still hold.
 */
function startMovers(target: ConnectionTarget, writers: number, copied: () => number): { stop: () => Promise<number> } {
  let stopping = false;
  let moves = 0;
  let counter = 0;
  const loops = Array.from({ length: writers }, async (_, w) => {
    const conn = await connect(target);
    try {
      while (!stopping) {
        const tenant = Math.floor(Math.random() * 3);
        // Once the copy is done, anywhere.
        const at = Math.min(copied(), ROWS - 700);
        const behind = 3 * Math.floor((Math.random() * at) / 3) + tenant + 3;
        const ahead = 3 * Math.floor((at + Math.random() * 600) / 3) + tenant + 3;
        const [a, b] = [behind, ahead];
        if (a >= b) {
          await new Promise((r) => setTimeout(r, 1));
          continue;
        }
        try {
          await conn.query('BEGIN');
          const [[from]] = await conn.query<any[]>('SELECT ext FROM t WHERE id = ? FOR UPDATE', [Math.min(a, b)]);
          await conn.query('SELECT ext FROM t WHERE id = ? FOR UPDATE', [Math.max(a, b)]);
          const fresh = `m${w}_${++counter}`;
          for (const table of ['t', 'twin']) {
            await conn.query(`UPDATE ${table} SET ext = ? WHERE id = ?`, [fresh, Math.min(a, b)]);
            await conn.query(`UPDATE ${table} SET ext = ? WHERE id = ?`, [from.ext, Math.max(a, b)]);
          }
          await conn.query('COMMIT');
          moves++;
        } catch {
          await conn.query('ROLLBACK').catch(() => undefined);
        }
      }
    } finally {
      await conn.end();
    }
  });
  return {
    async stop() {
      stopping = true;
      await Promise.all(loops);
      return moves;
    },
  };
}

describe('unique values moving between rows during a key change', () => {
  it('is a race the copy waits out, never reported as bad data', async () => {
    const { target, conn } = await freshDatabase('moving');
    await conn.query(CREATE('t'));
    await conn.query(CREATE('twin'));
    await seed(conn, 't');
    await seed(conn, 'twin');
    let copied = 0;
    const movers = startMovers(target, 4, () => copied);
    let moves = 0;
    try {
      const result = await runOnlineMigration({
        target, table: 't', alter: ALTER, chunkSize: 100, onRowsCopied: (rows) => { copied += rows; },
      });
      expect(result.verifiedRows).toBe(ROWS);
    } finally {
      moves = await movers.stop();
    }
    expect(moves).toBeGreaterThan(200);
    await conn.query(`ALTER TABLE twin ${ALTER}`);
    expect(await tableRows(conn, 't', ['id'])).toEqual(await tableRows(conn, 'twin', ['id']));
    await conn.end();
  });

  it('still refuses real duplicates, naming the key and a value that proves them', async () => {
    const { target, conn } = await freshDatabase('moving_dup');
    await conn.query(CREATE('t'));
    await seed(conn, 't');
    await conn.query('UPDATE t SET ext = ? WHERE id IN (4000, 17000)', ['twice']);
    await conn.query('UPDATE t SET tenant_id = 2 WHERE id IN (4000, 17000)');
    const failure = await runOnlineMigration({ target, table: 't', alter: ALTER, chunkSize: 500 }).catch((e: Error) => e);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as Error).message).toMatch(/the original table has rows that violate unique key `PRIMARY`/);
    expect((failure as Error).message).toContain('2-twice');
    expect((await conn.query<any[]>('SHOW TABLES'))[0].map((r: any) => Object.values(r)[0])).toEqual(['t']);
    await conn.end();
  });
});
