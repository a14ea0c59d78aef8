// The shared store: PostgreSQL through a pg pool, for several instances (or one on a database server).
// Named (prepared) statements, every multi-statement change in one transaction, and guarded state
// changes (lifecycle.ts): an update names the state it expects, so a lost race raises, never overwrites.
// Durability: a COMMIT returns after the WAL is flushed when synchronous_commit is on (the default),
// so sync() has nothing left to do; with it off, sync() commits once synchronously, which flushes the
// WAL up to there and with it every earlier commit (the same group commit as SQLite's sync()).
// Reads are in postgres-reader.ts; this class adds the writes, fencing and migrations.
import type pg from 'pg';
import { PostboteError } from '../errors.js';
import type { FilterVerdict } from '../filters/types.js';
import { assertTransition, DuplicateRaceError, StoreConflictError } from './lifecycle.js';
import { checkFence, PgLeases } from './postgres-leases.js';
import { applyPgMigrations } from './postgres-migrations.js';
import type { Queryable } from './postgres-pool.js';
import { PostgresReader } from './postgres-reader.js';
import { fromRow, type MessageRow, seenRecipients } from './records.js';
import {
  attemptUpdateValues,
  attemptValues,
  insertStatements,
  newMessageValues,
  sessionValues,
} from './rows.js';
import type {
  AttemptRecord,
  AttemptUpdate,
  FetchedBytes,
  MessageRecord,
  MessageState,
  NewMessage,
  ReadFailure,
  RecipientRecord,
  SessionRecord,
  Store,
} from './types.js';

const INSERTS = insertStatements('postgres');

export interface PostgresStoreOptions {
  poolSize?: number;
  /** Called before every write; throws to refuse it. */
  beforeWrite?: () => void;
}

/** The lease a fenced view's writes carry (see fenced()). */
interface Fence {
  mailbox: string;
  token: number;
}

export class PostgresStore extends PostgresReader implements Store {
  private readonly beforeWrite: () => void;
  /** synchronous_commit as the server reported it at migrate(); 'on' unless someone turned it off. */
  private synchronousCommit = 'on';

  /** Set on a fenced view: every write first checks this lease, in its own transaction. */
  private fence: Fence | undefined;
  /** A fenced view shares its parent's pool and must not close it. */
  private view = false;

  constructor(url: string, o: PostgresStoreOptions = {}) {
    super(url, o.poolSize);
    this.beforeWrite = o.beforeWrite ?? (() => undefined);
  }

  /** Mailbox leases with fencing tokens (postgres-leases.ts). */
  get leases(): PgLeases {
    return new PgLeases(this.pool);
  }

  /**
   * The store as one pass under a mailbox's lease writes to it: every write runs checkFence() in the
   * same transaction before its change, so once another instance took the mailbox over (a larger
   * token) or the lease lapsed, the write raises LeaseLostError and changes nothing. Reads are as usual.
   */
  fenced(mailbox: string, token: number): PostgresStore {
    const view = Object.create(PostgresStore.prototype) as PostgresStore;
    Object.assign(view, this, { fence: { mailbox, token }, view: true });
    return view;
  }

  /**
   * Runs `fn` in one transaction on one client (a write: refused once beforeWrite says so; on a
   * fenced view, first the lease check, whose row lock makes a takeover wait for this commit).
   */
  async tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    this.beforeWrite();
    const fence = this.fence;
    if (!fence) return this.db.tx(fn);
    return this.db.tx(async (c) => {
      await checkFence(c, fence.mailbox, fence.token);
      return fn(c);
    });
  }

  /** A write of one statement: on the pool, or in a fenced transaction on a fenced view. */
  private write<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    if (this.fence) return this.tx(fn);
    this.beforeWrite();
    return fn(this.pool);
  }

  async migrate(): Promise<void> {
    await this.tx((c) => applyPgMigrations(c, this.where));
    const [row] = await this.db.q<{ synchronous_commit: string }>(this.pool, 'SHOW synchronous_commit');
    this.synchronousCommit = row?.synchronous_commit ?? 'on';
  }

  async addSpooled(m: NewMessage): Promise<MessageRecord> {
    const row = await this.tx(async (c) => {
      if (m.fingerprint !== undefined && m.duplicateSince !== undefined) {
        // Writers of one fingerprint take turns until commit, so this check sees every copy committed
        // before it, whichever instance recorded it.
        await this.db.q(c, 'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
          `routed:${m.fingerprint}`,
        ]);
        const rows = await this.db.q<{ recipient: string }>(
          c,
          'SELECT DISTINCT recipient FROM routed WHERE fingerprint = $1 AND recipient = ANY($2) AND at >= $3',
          [m.fingerprint, seenRecipients(m), m.duplicateSince],
        );
        const raced = rows.map((r) => r.recipient);
        if (raced.length > 0) throw new DuplicateRaceError(m.fingerprint, raced);
      }
      const [row] = await this.db.q<MessageRow>(c, INSERTS.message, newMessageValues(m));
      // Read at last: whatever failed before is history.
      await this.db.q(c, 'DELETE FROM read_failures WHERE mailbox = $1 AND uid = $2', [m.mailbox, m.uid]);
      // Seen rows commit with the record: a crash can never leave a delivered copy unremembered.
      if (m.fingerprint !== undefined) {
        for (const r of seenRecipients(m)) {
          await this.db.q(
            c,
            'INSERT INTO routed (message, fingerprint, recipient, at) VALUES ($1, $2, $3, $4)',
            [row!.id, m.fingerprint, r, m.fetchedAt],
          );
        }
      }
      return row!;
    });
    return fromRow(row);
  }

  async recordAttempt(id: number, u: AttemptUpdate, a: AttemptRecord): Promise<MessageRecord> {
    const row = await this.tx(async (c) => {
      const expected = u.expect ?? (await this.stateOf(c, id));
      if (expected === undefined) throw new StoreConflictError(id, u.state, undefined, u.state);
      assertTransition(id, expected, u.state);
      // READ COMMITTED: a concurrent writer's UPDATE of this row makes ours wait for its commit, then
      // re-check its state guard against the new row: 0 rows, and the loser learns it below.
      const [row] = await this.db.q<MessageRow>(
        c,
        INSERTS.attemptUpdate,
        attemptUpdateValues(id, u, a, expected),
      );
      if (!row) throw new StoreConflictError(id, expected, await this.stateOf(c, id), u.state);
      await this.db.q(c, INSERTS.attempt, attemptValues(id, a));
      return row;
    });
    return fromRow(row);
  }

  private async stateOf(c: Queryable, id: number): Promise<MessageState | undefined> {
    const [row] = await this.db.q<{ state: MessageState }>(c, 'SELECT state FROM messages WHERE id = $1', [
      id,
    ]);
    return row?.state;
  }

  async markSourceRemoved(ids: number[], at: number): Promise<void> {
    if (ids.length === 0) return this.beforeWrite();
    await this.write((db) =>
      this.db.q(db, 'UPDATE messages SET source_removed_at = $1 WHERE id = ANY($2::bigint[])', [at, ids]),
    );
  }

  async reassignUids(changes: Array<{ id: number; uid: string }>): Promise<void> {
    if (changes.length === 0) return this.beforeWrite();
    await this.write((db) =>
      this.db.q(
        db,
        `UPDATE messages SET uid = c.uid FROM unnest($1::bigint[], $2::text[]) AS c(id, uid)
         WHERE messages.id = c.id`,
        [changes.map((c) => c.id), changes.map((c) => c.uid)],
      ),
    );
  }

  async detach(ids: number[], at: number): Promise<void> {
    if (ids.length === 0) return this.beforeWrite();
    await this.write((db) =>
      this.db.q(
        db,
        'UPDATE messages SET detached_at = $1 WHERE id = ANY($2::bigint[]) AND detached_at IS NULL',
        [at, ids],
      ),
    );
  }

  async noteReadFailure(f: ReadFailure): Promise<number> {
    const [row] = await this.write((db) =>
      this.db.q<{ count: number }>(
        db,
        `INSERT INTO read_failures (mailbox, uid, size, count, last_error, at) VALUES ($1, $2, $3, 1, $4, $5)
         ON CONFLICT (mailbox, uid, size) DO UPDATE SET count = read_failures.count + 1,
           last_error = excluded.last_error, at = excluded.at
         RETURNING count`,
        [f.mailbox, f.uid, f.size, f.error, f.at],
      ),
    );
    return row!.count;
  }

  async attachBytes(id: number, b: FetchedBytes): Promise<MessageRecord> {
    const [row] = await this.write((db) =>
      this.db.q<MessageRow>(
        db,
        `UPDATE messages SET spool_key = $1, size = $2, sha256 = $3, header_digest = $4, message_id = $5, sender = $6,
           subject = $7, fetched_at = $8, updated_at = $8 WHERE id = $9 AND spool_key IS NULL RETURNING *`,
        [b.spoolKey, b.size, b.sha256, b.headerDigest, b.messageId, b.sender, b.subject, b.fetchedAt, id],
      ),
    );
    if (!row) {
      throw new PostboteError('STORE', `message ${id} is not in the store without bytes`, {
        temporary: false,
      });
    }
    return fromRow(row);
  }

  async recordFilter(
    id: number,
    verdict: FilterVerdict,
    recipients: RecipientRecord[],
  ): Promise<MessageRecord> {
    const [row] = await this.write((db) =>
      this.db.q<MessageRow>(
        db,
        'UPDATE messages SET filter = $1, recipients = $2, updated_at = $3 WHERE id = $4 RETURNING *',
        [JSON.stringify(verdict), JSON.stringify(recipients), verdict.at, id],
      ),
    );
    if (!row) throw new PostboteError('STORE', `message ${id} is not in the store`, { temporary: false });
    return fromRow(row);
  }

  async discard(id: number): Promise<void> {
    await this.tx(async (c) => {
      await this.db.q(c, "DELETE FROM messages WHERE id = $1 AND state IN ('spooled','deferred')", [id]);
      // Fetched again, it must not count as a duplicate of its own lost copy.
      await this.db.q(
        c,
        'DELETE FROM routed WHERE message = $1 AND NOT EXISTS (SELECT 1 FROM messages WHERE id = $1)',
        [id],
      );
    });
  }

  async recordSession(s: SessionRecord): Promise<void> {
    await this.write((db) => this.db.q(db, INSERTS.session, sessionValues(s)));
  }

  async sync(): Promise<void> {
    // synchronous_commit on, local or remote_*: every COMMIT above waited for its WAL flush; nothing to do.
    if (this.synchronousCommit !== 'off') return;
    // Off: one synchronous commit (an xid makes it write a commit record) flushes the WAL up to here.
    await this.tx(async (c) => {
      await c.query('SET LOCAL synchronous_commit = on');
      await c.query('SELECT txid_current()');
    });
  }

  async close(): Promise<void> {
    if (!this.view) await this.db.close();
  }
}
