// One statement that changes every row while the copy runs leaves the applier a backlog as large as
// the table. The migration must work through it (catching up before it verifies) and cut over with
// every change in place, rather than fail verification or never catch up.
import type { ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { connect } from '../../runner/db/connect.ts';
import { runOnlineMigration } from '../../runner/engine/online-migration.ts';
import { freshDatabase } from '../support/database.ts';

const ROWS = 100_000;

describe('a backlog as large as the table', () => {
  it('is applied in full before verification and cut-over', async () => {
    const { target, conn } = await freshDatabase('backlog');
    await conn.query('CREATE TABLE t (id INT PRIMARY KEY, v BIGINT NOT NULL, note VARCHAR(20))');
    await conn.query(`INSERT INTO t SELECT seq, seq, CONCAT('n', seq) FROM seq_1_to_${ROWS}`);
    const writer = await connect(target);
    let copied = 0;
    let update: Promise<unknown> | undefined;
    const result = await runOnlineMigration({
      target, table: 't', alter: 'ADD COLUMN added INT NOT NULL DEFAULT 7', chunkSize: 2000,
      onRowsCopied: (rows) => {
        copied += rows;
        if (copied >= ROWS / 5) update ??= writer.query('UPDATE t SET v = v * 2, note = CONCAT(note, \'!\')');
      },
    });
    expect(update).toBeDefined();
    const [header] = (await update) as [ResultSetHeader];
    expect(header.affectedRows).toBe(ROWS);
    expect(result.verifiedRows).toBe(ROWS);
    const [[summary]] = await conn.query<RowDataPacket[]>(
      "SELECT COUNT(*) AS n, SUM(v = id * 2) AS doubled, SUM(note = CONCAT('n', id, '!')) AS noted, SUM(added = 7) AS added FROM t");
    expect(summary).toEqual({ n: String(ROWS), doubled: String(ROWS), noted: String(ROWS), added: String(ROWS) });
    await writer.end();
    await conn.end();
  });
});
