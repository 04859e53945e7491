// Copies the original table into the shadow table in key-ordered chunks, one transaction each
// (row-transfer.ts). Strict mode and no IGNORE: a value that does not fit, or a duplicate for a new
// unique key that the original proves, fails the migration instead of silently changing or dropping a row.
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { quoteIdent, quoteList } from '../db/quote.ts';
import type { CheckpointPort, CopyProgress } from './checkpoint.ts';
import type { ColumnMapping } from './column-mapping.ts';
import { keyOrder, keyRange, type KeyValues } from './key-sql.ts';
import { adaptRangeRows, keyAfterRows, type TableKey } from './key-ranges.ts';
import { mysqlErrno } from '../db/mysql-errors.ts';
import { collidableKeys, refreshCollidingRows, type UniqueKeyColumns } from './colliding-rows.ts';
import { duplicateFailure } from './duplicate-proof.ts';
import { NotRetryable } from './errors.ts';
import { inTransferTransaction, transferFailure, transferRows } from './row-transfer.ts';
import type { TableNames } from './table-names.ts';

export interface CopierOptions {
  /** Fixed chunk size; when absent the size adapts to `targetChunkMs`. */
  chunkSize?: number;
  targetChunkMs: number;
  /** Records each chunk's watermark in the chunk's own transaction. */
  checkpoints?: CheckpointPort;
  /** Where an interrupted copy stopped. */
  resume?: CopyProgress;
}

export interface CopyHooks {
  /** Resolves when copying may continue (throttling). */
  throttle(): Promise<void>;
  /** Resolves when every binlog change so far has been applied to the shadow table. */
  catchUp(): Promise<void>;
  onChunk(rows: number): void;
}

/** Duplicates on one chunk before the original is asked whether it holds them, and before giving up. */
const PROOF_AFTER = 3;
const MAX_DUPLICATE_RETRIES = 20;

interface Chunk {
  seq: number;
  /** Exclusive lower bound (undefined: from the first key). */
  lower: KeyValues | undefined;
  /** Inclusive upper bound. */
  upper: KeyValues;
  last: boolean;
}

/**
 * Several connections copy chunks side by side (Spirit's parallel copy), each chunk in its own
 * transaction. Chunk bounds are handed out in key order; the recorded watermark only ever covers a
 * prefix of chunks that have all committed, so a resume never skips a chunk still in flight, and it
 * re-copies (idempotently) at most the chunks past that prefix.
 */
export class RowCopier {
  rowsCopied = 0;
  chunkSize: number;
  /** The key below which every chunk has committed (the durable watermark). */
  private lastKey: KeyValues | undefined;
  private maxKey: KeyValues | undefined;
  private done = false;
  /** The original table's key, in whose order the chunks go. */
  private readonly key: TableKey;
  /** Read at the first duplicate: the unique keys whose stale rows a retry refreshes. */
  private collidable: UniqueKeyColumns[] | undefined;
  /** Chunk hand-out: the last upper bound given out, and whether the last chunk has been. */
  private assigned: KeyValues | undefined;
  private allAssigned = false;
  private nextSeq = 0;
  private handOut: Promise<unknown> = Promise.resolve();
  /** Committed chunks past the watermark, by sequence number, waiting for the ones before them. */
  private readonly committedAhead = new Map<number, Chunk>();
  private committedSeq = -1;

  constructor(private readonly conns: Connection[], private readonly names: TableNames, private readonly mapping: ColumnMapping,
    private readonly options: CopierOptions) {
    this.chunkSize = options.chunkSize ?? 2_000;
    this.key = { columns: mapping.key.oldColumns, index: mapping.key.oldIndex };
    this.lastKey = options.resume?.lastKey;
    this.assigned = this.lastKey;
    this.rowsCopied = options.resume?.rowsCopied ?? 0;
    this.done = options.resume?.done ?? false;
  }

  get finished(): boolean {
    return this.done;
  }

  private get conn(): Connection {
    return this.conns[0];
  }

  /**
   * Reads the key range to copy. Call after the binlog stream has started: later rows arrive through
   * it. A resumed copy reads it again, so rows inserted while nobody was copying are covered twice.
   */
  async init(): Promise<void> {
    if (this.done) return;
    const cols = this.mapping.key.oldColumns;
    const [rows] = await this.conn.query<RowDataPacket[]>({
      sql: `SELECT ${quoteList(cols)} FROM ${quoteIdent(this.names.original)} FORCE INDEX (${quoteIdent(this.key.index)})
             ORDER BY ${keyOrder(cols, 'DESC')} LIMIT 1`,
      rowsAsArray: true,
    });
    this.maxKey = rows.length > 0 ? (rows[0] as unknown as KeyValues) : undefined;
    if (this.maxKey === undefined || (this.lastKey && (await this.pastEnd()))) await this.finishEmpty();
  }

  /** Nothing (left) to copy: record that, so a resume does not look for rows again. */
  private async finishEmpty(): Promise<void> {
    this.done = true;
    const checkpoints = this.options.checkpoints;
    if (checkpoints) {
      await inTransferTransaction(this.conn, this.mapping,
        () => checkpoints.copied(this.conn, { lastKey: this.lastKey, rowsCopied: this.rowsCopied, done: true }));
    }
  }

  /** Copies until done; the first failure stops every worker after its current chunk, then is thrown. */
  async run(hooks: CopyHooks): Promise<void> {
    if (this.done) return;
    let failure: { error: unknown } | undefined;
    await Promise.all(this.conns.map((conn) => this.work(conn, hooks, () => failure !== undefined)
      .catch((error: unknown) => { failure ??= { error }; })));
    if (failure) throw failure.error;
  }

  private async work(conn: Connection, hooks: CopyHooks, stopped: () => boolean): Promise<void> {
    while (!stopped()) {
      await hooks.throttle();
      const chunk = await this.nextChunk(conn);
      if (!chunk) return;
      const started = Date.now();
      const copied = await this.copyChunk(conn, chunk, hooks);
      hooks.onChunk(copied);
      this.adapt(Date.now() - started);
    }
  }

  private adapt(elapsedMs: number): void {
    if (!this.options.chunkSize) this.chunkSize = adaptRangeRows(this.chunkSize, elapsedMs, this.options.targetChunkMs);
  }

  /** A resumed copy whose watermark is already at or past the current last key. */
  private async pastEnd(): Promise<boolean> {
    return (await keyAfterRows(this.conn, this.names.original, this.key, this.lastKey, 1)) === undefined;
  }

  /**
   * The next chunk's bounds, handed out one caller at a time. The bound query runs on the caller's
   * own connection: on a shared one it would queue behind another worker's chunk and serialize the copy.
   */
  private nextChunk(conn: Connection): Promise<Chunk | undefined> {
    const turn = this.handOut.then(async () => {
      if (this.allAssigned) return undefined;
      const { upper, last } = await this.upperBound(conn, this.assigned);
      const chunk: Chunk = { seq: this.nextSeq++, lower: this.assigned, upper, last };
      this.assigned = upper;
      this.allAssigned = last;
      return chunk;
    });
    this.handOut = turn.catch(() => undefined);
    return turn;
  }

  private async upperBound(conn: Connection, after: KeyValues | undefined): Promise<{ upper: KeyValues; last: boolean }> {
    const upper = await keyAfterRows(conn, this.names.original, this.key, after, this.chunkSize, this.maxKey);
    return upper ? { upper, last: false } : { upper: this.maxKey!, last: true };
  }

  /** The watermark once `chunk` commits: its upper bound if every earlier chunk has committed too. */
  private watermarkWith(chunk: Chunk): { lastKey: KeyValues | undefined; done: boolean } {
    let seq = this.committedSeq;
    let covered: Chunk | undefined;
    while (seq + 1 === chunk.seq || this.committedAhead.has(seq + 1)) {
      covered = seq + 1 === chunk.seq ? chunk : this.committedAhead.get(seq + 1);
      seq++;
    }
    return covered ? { lastKey: covered.upper, done: covered.last } : { lastKey: this.lastKey, done: false };
  }

  private committed(chunk: Chunk, rows: number): void {
    this.rowsCopied += rows;
    this.committedAhead.set(chunk.seq, chunk);
    while (this.committedAhead.has(this.committedSeq + 1)) {
      const next = this.committedAhead.get(this.committedSeq + 1)!;
      this.committedAhead.delete(++this.committedSeq);
      this.lastKey = next.upper;
      if (next.last) this.done = true;
    }
  }

  private async copyChunk(conn: Connection, chunk: Chunk, hooks: CopyHooks): Promise<number> {
    const scope = {
      original: keyRange(this.mapping.key.oldColumns, chunk.lower, chunk.upper),
      shadow: keyRange(this.mapping.key.newColumns, chunk.lower, chunk.upper),
    };
    for (let duplicates = 0; ; duplicates++) {
      try {
        const copied = await inTransferTransaction(conn, this.mapping, async () => {
          if (duplicates > 0) await refreshCollidingRows(conn, this.names, this.mapping, scope, this.collidable!);
          const rows = await transferRows(conn, this.names, this.mapping, scope);
          await this.options.checkpoints?.copied(conn, { ...this.watermarkWith(chunk), rowsCopied: this.rowsCopied + rows });
          return rows;
        });
        this.committed(chunk, copied);
        return copied;
      } catch (err) {
        if (mysqlErrno(err) !== 1062) throw transferFailure(err, 'copying rows', 'a row of the original table');
        // Most likely a row whose move to another value is still ahead in the binlog: retry with the
        // colliding rows refreshed (colliding-rows.ts), catching up too after a few tries. Only the
        // original table can say it is the data (duplicateFailure asks it).
        this.collidable ??= await collidableKeys(conn, this.names, this.mapping);
        if (duplicates === PROOF_AFTER || duplicates === MAX_DUPLICATE_RETRIES) {
          const failure = await duplicateFailure(conn, this.names, this.mapping, err, 'copying rows');
          if (failure instanceof NotRetryable || duplicates === MAX_DUPLICATE_RETRIES) throw failure;
        }
        if (duplicates >= 1) await hooks.catchUp();
      }
    }
  }
}
