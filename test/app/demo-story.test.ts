// The story `schemabot demo` tells, small and on the test MariaDB: every step happens through the
// local GitHub and the App and is told as it happens (the plan comment, the deploy's check runs, the
// Cut over button, the /revert reply with what it loses), and the story ends only when users equals
// its twin row for row after the writers stop. The twin comparison itself sees a write lost.
import { readFileSync } from 'node:fs';
import type { RowDataPacket } from 'mysql2/promise';
import { expect, it } from 'vitest';
import { desiredUsers } from '../../runner/cli/demo-command.ts';
import { runDemoStory } from '../../runner/cli/demo/demo-story.ts';
import { TwinTable } from '../../runner/cli/demo/twin-table.ts';
import { createUsers } from '../../runner/embedded/sample-data.ts';
import { freshDatabase } from '../support/database.ts';

const ROWS = 5_000;

it('tells the whole story, from the pull request to the revert, and ends with no write lost', async () => {
  const { target, conn } = await freshDatabase('demo');
  await createUsers(conn, ROWS);
  await conn.end();
  const lines: string[] = [];
  await runDemoStory({
    target, rows: ROWS, writers: 2, stateSchema: `_sb_demo_${process.pid}`,
    usersSql: { before: readFileSync(new URL('../../schemas/users.sql', import.meta.url), 'utf8'), after: desiredUsers() },
    pace: { reconcileMs: 200, progressMs: 300 }, gateWaitMs: 300, stepTimeoutMs: 90_000,
    out: (line) => lines.push(line.replace(/^\[ *[\d.]+ s\] /, '')),
  });

  const step = (pattern: RegExp) => {
    const index = lines.findIndex((l) => pattern.test(l));
    expect(index, String(pattern)).toBeGreaterThanOrEqual(0);
    return index;
  };
  const order = [
    step(/^dev opens pull request #1/),
    step(/^ {2}check run schemabot\/plan +success +1 change$/),
    step(/^ {2}│ ALTER TABLE `users` MODIFY COLUMN `name` varchar\(200\)/),
    step(/^release-manager merges #1/),
    step(/^ {2}check run schemabot\/deploy +(queued|in_progress) /),
    step(/^ {2}check run schemabot\/cutover +action_required +Ready to cut over {2}\[Cut over\]$/),
    step(/^release-manager presses "Cut over"/),
    step(/^ {2}check run schemabot\/deploy +success +complete$/),
    step(/^users now: name varchar\(200\), balance decimal\(14,2\), last_login_at datetime, KEY idx_status$/),
    step(/^the new code starts using the new column: last_login_at set on \d+ users$/),
    step(/^oncall comments "\/revert"/),
    step(/^the App reacts 👀 🚀 and replies:$/),
    step(/^ {2}│ - column `last_login_at` of `users` is not in the table swapped back: its values are lost \(non-NULL in [1-9]\d* row\(s\)\)$/),
    step(/^ {2}check run schemabot\/revert +success +reverted$/),
    step(/^users now: name varchar\(100\), balance decimal\(12,2\), no last_login_at, no idx_status$/),
    step(/rows that differ or are missing: 0: no write was lost$/),
    // queued only if the reconciler lists the deploy before a worker claims it, as with the deploy check run.
    step(/^GitHub deployment schema\/production: (queued → )?in_progress → .*success → .*inactive$/),
  ];
  expect([...order].sort((a, b) => a - b)).toEqual(order);
  expect(lines.filter((l) => /check run schemabot\/deploy/.test(l)).length).toBeGreaterThanOrEqual(3);
  expect(lines.join('\n')).not.toMatch(/<!--|\\_/);
});

it('the twin comparison sees a lost insert, update or delete', async () => {
  const { target, conn } = await freshDatabase('demo_twin');
  await createUsers(conn, 100);
  const twin = new TwinTable(`${target.database}_twin`);
  await twin.create(conn);
  const write = twin.mirroredWrites(100);
  for (let i = 0; i < 40; i++) await write(conn, 0);
  const mirrored = await twin.compare(conn);
  expect(mirrored).toEqual({ rows: mirrored.twinRows, twinRows: mirrored.twinRows, differing: 0 });
  const [[{ id }]] = await conn.query<RowDataPacket[]>('SELECT MIN(id) AS id FROM users');

  await conn.query("INSERT INTO users (email, name) VALUES ('only-here@example.com', 'Only here')");
  expect(await twin.compare(conn)).toEqual({ rows: mirrored.rows + 1, twinRows: mirrored.twinRows, differing: 1 });
  await conn.query('DELETE FROM users WHERE email = ?', ['only-here@example.com']);
  await conn.query('UPDATE users SET balance = balance + 1 WHERE id = ?', [id]);
  expect(await twin.compare(conn)).toEqual({ ...mirrored, differing: 1 });
  await conn.query('UPDATE users SET balance = balance - 1 WHERE id = ?', [id]);
  await conn.query('DELETE FROM users WHERE id = ?', [id]);
  expect(await twin.compare(conn)).toEqual({ ...mirrored, rows: mirrored.rows - 1 });
  await conn.end();
});
