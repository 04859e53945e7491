// The demo's proof that no write is lost: a twin of `users` in a database of its own (out of the
// deploy's reach), given every write the demo's writers make, in the same transaction. Updates and
// deletes run on the twin as they are; an insert copies the new row with the id `users` gave it. Once
// the writers stop, both tables must hold the same rows, value for value.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { quoteIdent } from '../../db/quote.ts';
import { usersWriteMix } from '../../embedded/sample-data.ts';
import type { WriteOperation } from '../../embedded/write-load.ts';

/** The columns of schemas/users.sql as the database has it before the pull request. */
const COLUMNS = ['id', 'email', 'name', 'status', 'balance', 'created_at'];

export class TwinTable {
  private readonly database: string;
  readonly name: string;

  constructor(twinDatabase: string) {
    this.database = quoteIdent(twinDatabase);
    this.name = `${this.database}.\`users\``;
  }

  /** Creates the twin database with a copy of `users` (the connection's database). */
  async create(conn: Connection): Promise<void> {
    await conn.query(`CREATE DATABASE ${this.database}`);
    await conn.query(`CREATE TABLE ${this.name} LIKE users`);
    await conn.query(`INSERT INTO ${this.name} SELECT * FROM users`);
  }

  /** usersWriteMix on `users`, each write mirrored to the twin in the same transaction. */
  mirroredWrites(maxId: number): WriteOperation {
    const mix = usersWriteMix(maxId);
    return (conn, writer) => mix(this.mirroring(conn), writer);
  }

  private mirroring(conn: Connection): Connection {
    const twin = this.name;
    return new Proxy(conn, {
      get(target, property, receiver) {
        if (property !== 'query') return Reflect.get(target, property, receiver);
        return async (sql: string, values?: unknown[]) => {
          const mirror = sql.startsWith('INSERT')
            ? `INSERT INTO ${twin} SELECT ${COLUMNS.join(', ')} FROM users WHERE id = LAST_INSERT_ID()`
            : sql.replace(/^(UPDATE|DELETE FROM) users /, `$1 ${twin} `);
          if (mirror === sql) throw new Error(`the twin cannot mirror: ${sql}`);
          await target.query('BEGIN');
          try {
            const result = await target.query(sql, values);
            await target.query(mirror, sql.startsWith('INSERT') ? [] : values);
            await target.query('COMMIT');
            return result;
          } catch (err) {
            await target.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
        };
      },
    });
  }

  /** Row counts of `users` and the twin, and how many rows of `users` are missing from the twin or differ in a column. */
  async compare(conn: Connection): Promise<{ rows: number; twinRows: number; differing: number }> {
    const count = async (table: string) => Number((await conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`))[0][0].n);
    const same = COLUMNS.map((c) => `u.${c} <=> t.${c}`).join(' AND ');
    const [[diff]] = await conn.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM users u LEFT JOIN ${this.name} t ON t.id = u.id WHERE NOT (${same})`);
    return { rows: await count('users'), twinRows: await count(this.name), differing: Number(diff.n) };
  }
}
