// The shared store: PostgreSQL through a pg pool, for several instances (or one on a database server).
// Named (prepared) statements, every multi-statement change in one transaction, and guarded state
// changes (lifecycle.ts): an update names the state it expects, so a lost race raises, never overwrites.
// Durability: a COMMIT returns after the WAL is flushed when synchronous_commit is on (the default),
// so sync() has nothing left to do; with it off, sync() commits once synchronously, which flushes the
// WAL up to there and with it every earlier commit (the same group commit as SQLite's sync()).

import type pg from 'pg';
import { PostboteError } from '../errors.js';
import type { FilterVerdict } from '../filters/types.js';
import { assertTransition, StoreConflictError } from './lifecycle.js';
import { checkFence, PgLeases } from './postgres-leases.js';
import { PG_MIGRATIONS } from './postgres-migrations.js';
import { PgConnection, type Queryable } from './postgres-pool.js';
import { activityPg, fetchedSincePg, searchPg, sessionsOfPg } from './postgres-queries.js';
import { fromRow, type MessageRow } from './records.js';
import { insertStatements, newMessageValues, sessionValues } from './rows.js';
import type {
  ActivityBucket,
  AttemptRecord,
  AttemptUpdate,
  FetchedBytes,
  MessageQuery,
  MessageRecord,
  MessageState,
  NewMessage,
  ReadFailure,
  RecipientRecord,
  SeenCopy,
  SessionRecord,
  Store,
  StoredSession,
} from './types.js';

// The advisory lock that serialises migrations of instances starting together (any constant works).
const MIGRATION_LOCK = 0x706f7374626f7465n; // "postbote"

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

export class PostgresStore implements Store {
  private readonly db: PgConnection;
  private readonly beforeWrite: () => void;
  /** synchronous_commit as the server reported it at migrate(); 'on' unless someone turned it off. */
  private synchronousCommit = 'on';

  /** Set on a fenced view: every write first checks this lease, in its own transaction. */
  private fence: Fence | undefined;
  /** A fenced view shares its parent's pool and must not close it. */
  private view = false;

  constructor(url: string, o: PostgresStoreOptions = {}) {
    this.db = new PgConnection(url, o.poolSize);
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

  get pool(): pg.Pool {
    return this.db.pool;
  }

  /** The URL with its password masked, for messages and logs. */
  get where(): string {
    return this.db.where;
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
    await this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
      await c.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT)',
      );
      const current = (await c.query('SELECT max(version) AS v FROM schema_migrations')).rows[0]?.v ?? 0;
      const latest = PG_MIGRATIONS.at(-1)?.version ?? 0;
      if (current > latest) {
        throw new PostboteError(
          'STORE',
          `the store ${this.where} has schema version ${current}, newer than this Postbote (${latest})`,
          { temporary: false, hint: 'upgrade Postbote, or point state: at another database' },
        );
      }
      for (const m of PG_MIGRATIONS) {
        if (m.version <= current) continue;
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations VALUES ($1, $2)', [m.version, Date.now()]);
      }
    });
    const [row] = await this.db.q<{ synchronous_commit: string }>(this.pool, 'SHOW synchronous_commit');
    this.synchronousCommit = row?.synchronous_commit ?? 'on';
  }

  async messagesOf(mailbox: string): Promise<MessageRecord[]> {
    const rows = await this.db.q<MessageRow>(
      this.pool,
      `SELECT * FROM messages WHERE mailbox = $1 AND detached_at IS NULL
       UNION ALL
       SELECT * FROM messages WHERE state IN ('spooled','deferred') AND mailbox = $1 AND detached_at IS NOT NULL
       ORDER BY id`,
      [mailbox],
    );
    return rows.map(fromRow);
  }

  async get(id: number): Promise<MessageRecord | undefined> {
    const [row] = await this.db.q<MessageRow>(this.pool, 'SELECT * FROM messages WHERE id = $1', [id]);
    return row && fromRow(row);
  }

  async addSpooled(m: NewMessage): Promise<MessageRecord> {
    const row = await this.tx(async (c) => {
      const [row] = await this.db.q<MessageRow>(c, INSERTS.message, newMessageValues(m));
      // Read at last: whatever failed before is history.
      await this.db.q(c, 'DELETE FROM read_failures WHERE mailbox = $1 AND uid = $2', [m.mailbox, m.uid]);
      // Seen rows commit with the record: a crash can never leave a delivered copy unremembered.
      if (m.fingerprint !== undefined) {
        for (const r of m.recipients) {
          if (r.status !== 'pending') continue;
          await this.db.q(
            c,
            'INSERT INTO routed (message, fingerprint, recipient, at) VALUES ($1, $2, $3, $4)',
            [row!.id, m.fingerprint, r.address.toLowerCase(), m.fetchedAt],
          );
        }
      }
      return row!;
    });
    return fromRow(row);
  }

  async seenCopies(fingerprint: string, recipients: string[], since: number): Promise<Map<string, SeenCopy>> {
    const out = new Map<string, SeenCopy>();
    for (const recipient of recipients) {
      const [row] = await this.db.q<{
        message: number;
        at: number;
        mailbox: string | null;
        uid: string | null;
      }>(
        this.pool,
        `SELECT r.message, r.at, m.mailbox, m.uid FROM routed r LEFT JOIN messages m ON m.id = r.message
         WHERE r.fingerprint = $1 AND r.recipient = $2 AND r.at >= $3 ORDER BY r.at LIMIT 1`,
        [fingerprint, recipient.toLowerCase(), since],
      );
      if (row) {
        out.set(recipient, {
          recipient,
          messageId: row.message,
          at: row.at,
          mailbox: row.mailbox ?? '(forgotten)',
          uid: row.uid ?? '',
        });
      }
    }
    return out;
  }

  async recordAttempt(id: number, u: AttemptUpdate, a: AttemptRecord): Promise<MessageRecord> {
    const row = await this.tx(async (c) => {
      const expected = u.expect ?? (await this.stateOf(c, id));
      if (expected === undefined) throw new StoreConflictError(id, u.state, undefined, u.state);
      assertTransition(id, expected, u.state);
      // READ COMMITTED: a concurrent writer's UPDATE of this row makes ours wait for its commit, then
      // re-check `state = $9` against the new row: 0 rows, and the loser learns it below.
      const [row] = await this.db.q<MessageRow>(
        c,
        `UPDATE messages SET state = $1, recipients = $2, next_attempt_at = $3, reason = $4, spool_key = $5,
             attempts = attempts + $6, updated_at = $7 WHERE id = $8 AND state = $9 RETURNING *`,
        [
          u.state,
          JSON.stringify(u.recipients),
          u.nextAttemptAt,
          u.reason,
          u.spoolKey,
          u.countsAsAttempt ? 1 : 0,
          a.at,
          id,
          expected,
        ],
      );
      if (!row) throw new StoreConflictError(id, expected, await this.stateOf(c, id), u.state);
      await this.db.q(
        c,
        'INSERT INTO attempts (message, at, outcome, detail, recipients) VALUES ($1, $2, $3, $4, $5)',
        [id, a.at, a.outcome, a.detail, JSON.stringify(a.recipients)],
      );
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

  async attemptsOf(id: number): Promise<AttemptRecord[]> {
    const rows = await this.db.q<{ at: number; outcome: string; detail: string; recipients: string }>(
      this.pool,
      'SELECT at, outcome, detail, recipients FROM attempts WHERE message = $1 ORDER BY id',
      [id],
    );
    return rows.map((r) => ({ ...r, recipients: JSON.parse(r.recipients) }));
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

  async pending(mailbox?: string): Promise<MessageRecord[]> {
    const rows =
      mailbox === undefined
        ? await this.db.q<MessageRow>(
            this.pool,
            "SELECT * FROM messages WHERE state IN ('spooled','deferred') ORDER BY id",
          )
        : await this.db.q<MessageRow>(
            this.pool,
            "SELECT * FROM messages WHERE state IN ('spooled','deferred') AND mailbox = $1 ORDER BY id",
            [mailbox],
          );
    return rows.map(fromRow);
  }

  async spoolKeys(): Promise<Set<string>> {
    const rows = await this.db.q<{ spool_key: string }>(
      this.pool,
      'SELECT spool_key FROM messages WHERE spool_key IS NOT NULL',
    );
    return new Set(rows.map((r) => r.spool_key));
  }

  async recordSession(s: SessionRecord): Promise<void> {
    await this.write((db) => this.db.q(db, INSERTS.session, sessionValues(s)));
  }

  async counts(): Promise<Record<MessageState, number>> {
    const out: Record<MessageState, number> = {
      spooled: 0,
      deferred: 0,
      delivered: 0,
      quarantined: 0,
      deleted: 0,
      duplicate: 0,
    };
    const rows = await this.db.q<{ state: MessageState; n: number }>(
      this.pool,
      'SELECT state, count(*) AS n FROM messages GROUP BY state',
    );
    for (const r of rows) out[r.state] = r.n;
    return out;
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

  async searchMessages(q: MessageQuery): Promise<{ total: number; messages: MessageRecord[] }> {
    const { total, rows } = await searchPg((text, values) => this.db.q(this.pool, text, values), q);
    return { total, messages: (rows as MessageRow[]).map(fromRow) };
  }

  async sessionsOf(mailbox: string, limit: number): Promise<StoredSession[]> {
    return sessionsOfPg((text, values) => this.db.q(this.pool, text, values), mailbox, limit);
  }

  async activity(since: number, bucketMs: number, count: number): Promise<ActivityBucket[]> {
    return activityPg((text, values) => this.db.q(this.pool, text, values), since, bucketMs, count);
  }

  async fetchedSince(since: number): Promise<Map<string, number>> {
    return fetchedSincePg((text, values) => this.db.q(this.pool, text, values), since);
  }

  async close(): Promise<void> {
    if (!this.view) await this.db.close();
  }
}
