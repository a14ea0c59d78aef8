// The SQLite store's group commit: what every pass writes in one turn of the event loop shares one
// transaction and one commit, and every write outside it commits the batch first.
import { PostboteError } from '../errors.js';
import type { SqliteConnection } from './sqlite-connection.js';

interface Batch {
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

/** The group commit with an open batch, per database file: see GroupCommit.yieldToOthers. */
const batching = new Map<string, GroupCommit>();

/**
 * Group commit: a transaction left open for the rest of this turn of the event loop, so the records
 * and outcomes that every pass writes meanwhile share one commit (one WAL append instead of one per
 * write). Only addSpooled and recordAttempt join it. A new record resolves at once and is committed
 * before its message can be delivered (setImmediate comes before a second server reply is read); an
 * outcome resolves only after the commit, so the duplicate window stays the one message between the
 * target's 250 and its commit. Every other write, sync() and close() commit the batch first.
 */
export class GroupCommit {
  private batch: Batch | undefined;
  /** A batch commit that failed with nobody waiting for it: the next write throws it. */
  private lost: unknown;

  constructor(private readonly conn: SqliteConnection) {}

  /**
   * Opens the batch if none is; it commits at the end of this turn of the event loop (setImmediate),
   * with whatever other passes wrote meanwhile.
   */
  joinBatch(): void {
    this.throwLost();
    if (this.batch) return;
    this.yieldToOthers();
    this.conn.sql('BEGIN').run();
    if (this.conn.file !== ':memory:') batching.set(this.conn.file, this);
    const batch: Batch = { waiters: [] };
    this.batch = batch;
    setImmediate(() => this.commitQuietly(batch));
  }

  /** Commits at the end of the turn or for another store: errors go to the waiters, or to the next write. */
  private commitQuietly(batch: Batch): void {
    if (this.batch !== batch) return;
    try {
      this.commitBatch();
    } catch (err) {
      // Records that resolved at once are lost with the batch: the next write reports it instead of
      // building on them.
      if (batch.waiters.length === 0) this.lost = err;
    }
  }

  /** Commits the open batch (if any) now; whoever waits for it learns the outcome. */
  private commitBatch(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    if (batching.get(this.conn.file) === this) batching.delete(this.conn.file);
    try {
      this.conn.sql('COMMIT').run();
    } catch (err) {
      if (this.conn.db.inTransaction) this.conn.db.exec('ROLLBACK');
      const error = new PostboteError('STORE', `cannot commit to the store: ${(err as Error).message}`, {
        temporary: true,
        cause: err,
      });
      for (const w of batch.waiters) w.reject(error);
      throw error;
    }
    for (const w of batch.waiters) w.resolve();
  }

  /** Resolves once the open batch is committed. */
  committed(): Promise<void> {
    const batch = this.batch;
    if (!batch) return Promise.resolve();
    return new Promise((resolve, reject) => batch.waiters.push({ resolve, reject }));
  }

  /** For writes that do not join the batch: what they follow is committed before them. */
  settle(): void {
    this.throwLost();
    if (this.batch) this.commitBatch();
    this.yieldToOthers();
  }

  /**
   * Another store on the same file in this process (tests race two writers) would wait on our open
   * transaction synchronously, on the thread that has to commit it: so it is committed first.
   * Other processes cannot write meanwhile: the state lock allows one per state folder.
   */
  private yieldToOthers(): void {
    const other = batching.get(this.conn.file);
    if (other && other !== this && other.batch) other.commitQuietly(other.batch);
  }

  private throwLost(): void {
    const lost = this.lost;
    this.lost = undefined;
    if (lost) throw lost;
  }
}
