// The embedded store: SQLite through better-sqlite3 in WAL mode. Commits use synchronous=NORMAL: a
// committed record survives a kill -9 at once (it is in the WAL, in the page cache), and a power cut
// after the next sync(), which the pass calls before deleting anything at the provider (group commit).
// Synchronous calls wrapped in the asynchronous Store contract.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { PostboteError } from '../errors.js';
import type { FilterVerdict } from '../filters/types.js';
import { displayHeader } from '../message/display.js';
import { assertTransition, StoreConflictError } from './lifecycle.js';
import { insertStatements, newMessageValues, sessionValues } from './rows.js';
import { MIGRATIONS } from './sqlite-migrations.js';
import { activity, fetchedSince, searchMessageRows, sessionsOf } from './sqlite-queries.js';
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

const INSERTS = insertStatements('sqlite');

export interface MessageRow {
  id: number;
  mailbox: string;
  uid: string;
  state: MessageState;
  spool_key: string | null;
  size: number;
  sha256: string;
  message_id: string | null;
  sender: string;
  subject: string | null;
  recipients: string;
  attempts: number;
  next_attempt_at: number | null;
  reason: string | null;
  fetched_at: number;
  updated_at: number;
  source_removed_at: number | null;
  explanation?: string | null;
  source_size?: number | null;
  header_digest?: string | null;
  detached_at?: number | null;
  source_date?: number | null;
  filter?: string | null;
}

export function fromRow(row: MessageRow): MessageRecord {
  return {
    id: row.id,
    mailbox: row.mailbox,
    uid: row.uid,
    state: row.state,
    spoolKey: row.spool_key,
    size: row.size,
    sha256: row.sha256,
    messageId: row.message_id,
    sender: row.sender,
    // Decoded on read too: records of earlier versions hold the subject as written in the header.
    subject: row.subject === null ? null : displayHeader(row.subject),
    recipients: JSON.parse(row.recipients),
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    reason: row.reason,
    fetchedAt: row.fetched_at,
    updatedAt: row.updated_at,
    sourceRemovedAt: row.source_removed_at,
    explanation: row.explanation ? JSON.parse(row.explanation) : [],
    sourceSize: row.source_size ?? null,
    headerDigest: row.header_digest ?? null,
    detachedAt: row.detached_at ?? null,
    sourceDate: row.source_date ?? null,
    filter: row.filter ? JSON.parse(row.filter) : null,
  };
}

interface Batch {
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

/** The store with an open batch, per database file: see SqliteStore.yieldToOthers. */
const batching = new Map<string, SqliteStore>();

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  /** Prepared once, reused: compiling a statement costs more than running it. */
  private readonly statements = new Map<string, Database.Statement>();
  /**
   * Group commit: a transaction left open for the rest of this turn of the event loop, so the records
   * and outcomes that every pass writes meanwhile share one commit (one WAL append instead of one per
   * write). Only addSpooled and recordAttempt join it. A new record resolves at once and is committed
   * before its message can be delivered (setImmediate comes before a second server reply is read); an
   * outcome resolves only after the commit, so the duplicate window stays the one message between the
   * target's 250 and its commit. Every other write, sync() and close() commit the batch first.
   */
  private batch: Batch | undefined;
  /** A batch commit that failed with nobody waiting for it: the next write throws it. */
  private lost: unknown;

  constructor(private readonly file: string) {
    try {
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      // A checkpoint runs inside the commit that crosses the limit, on this (the only) thread, with two
      // fsyncs: at SQLite's default of 1000 pages that was every ~80 messages. 10000 pages (~40 MB of
      // WAL) makes it ten times rarer; journal_size_limit gives the space back after one.
      this.db.pragma('wal_autocheckpoint = 10000');
      this.db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('busy_timeout = 5000');
    } catch (err) {
      throw new PostboteError('STORE', `cannot open the store ${file}: ${(err as Error).message}`, {
        temporary: false,
        cause: err,
        hint: 'check that the state folder exists and is writable',
      });
    }
  }

  /** A transaction function made on first use (fields initialise before the constructor opens the db). */
  private lazyTransaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    let tx: Database.Transaction<(...args: A) => R> | undefined;
    return (...args: A) => {
      tx ??= this.db.transaction(fn);
      return tx(...args);
    };
  }

  private sql(text: string): Database.Statement {
    let stmt = this.statements.get(text);
    if (!stmt) {
      stmt = this.db.prepare(text);
      this.statements.set(text, stmt);
    }
    return stmt;
  }

  async migrate(): Promise<void> {
    this.settle();
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER)',
    );
    const row = this.sql('SELECT max(version) AS v FROM schema_migrations').get() as {
      v: number | null;
    };
    const current = row.v ?? 0;
    const latest = MIGRATIONS.at(-1)?.version ?? 0;
    if (current > latest) {
      throw new PostboteError(
        'STORE',
        `the store has schema version ${current}, newer than this Postbote (${latest})`,
        {
          temporary: false,
          hint: 'upgrade Postbote, or point state: at another folder',
        },
      );
    }
    if (current === latest) return;
    // A migration may rebuild a table (SQLite's documented way to drop a constraint). With foreign keys
    // on, dropping the old table would cascade into its children; they are switched off around the
    // migrations (the pragma has no effect inside a transaction) and checked before each commit.
    this.db.pragma('foreign_keys = OFF');
    try {
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        this.db.transaction(() => {
          this.db.exec(m.sql);
          const broken = this.db.pragma('foreign_key_check') as unknown[];
          if (broken.length > 0) {
            throw new PostboteError('STORE', `migration ${m.version} broke ${broken.length} references`, {
              temporary: false,
            });
          }
          this.sql('INSERT INTO schema_migrations VALUES (?, ?)').run(m.version, Date.now());
        })();
      }
    } finally {
      this.db.pragma('foreign_keys = ON');
    }
  }

  async messagesOf(mailbox: string): Promise<MessageRecord[]> {
    // Two indexed halves instead of one OR (which would scan a mailbox's whole history on every poll).
    const rows = this.sql(
      `SELECT * FROM messages WHERE mailbox = ? AND detached_at IS NULL
       UNION ALL
       SELECT * FROM messages WHERE state IN ('spooled','deferred') AND mailbox = ? AND detached_at IS NOT NULL
       ORDER BY id`,
    ).all(mailbox, mailbox) as MessageRow[];
    return rows.map(fromRow);
  }

  async get(id: number): Promise<MessageRecord | undefined> {
    const row = this.sql('SELECT * FROM messages WHERE id = ?').get(id) as MessageRow | undefined;
    return row && fromRow(row);
  }

  async addSpooled(m: NewMessage): Promise<MessageRecord> {
    this.joinBatch();
    return fromRow(this.insertSpooled(m));
  }

  /** Made once: better-sqlite3 builds a wrapper per transaction() call, which showed in profiles. */
  private readonly insertSpooled = this.lazyTransaction((m: NewMessage): MessageRow => {
    const row = this.sql(INSERTS.message).get(...newMessageValues(m)) as MessageRow;
    // Read at last: whatever failed before is history.
    this.sql('DELETE FROM read_failures WHERE mailbox = ? AND uid = ?').run(m.mailbox, m.uid);
    // Seen rows commit with the record: a crash can never leave a delivered copy unremembered.
    if (m.fingerprint !== undefined) {
      const seen = this.sql('INSERT INTO routed (message, fingerprint, recipient, at) VALUES (?, ?, ?, ?)');
      for (const r of m.recipients) {
        if (r.status === 'pending') seen.run(row.id, m.fingerprint, r.address.toLowerCase(), m.fetchedAt);
      }
    }
    return row;
  });

  /**
   * Opens the batch if none is; it commits at the end of this turn of the event loop (setImmediate),
   * with whatever other passes wrote meanwhile.
   */
  private joinBatch(): void {
    this.throwLost();
    if (this.batch) return;
    this.yieldToOthers();
    this.sql('BEGIN').run();
    if (this.file !== ':memory:') batching.set(this.file, this);
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
    if (batching.get(this.file) === this) batching.delete(this.file);
    try {
      this.sql('COMMIT').run();
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
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
  private committed(): Promise<void> {
    const batch = this.batch;
    if (!batch) return Promise.resolve();
    return new Promise((resolve, reject) => batch.waiters.push({ resolve, reject }));
  }

  /** For writes that do not join the batch: what they follow is committed before them. */
  private settle(): void {
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
    const other = batching.get(this.file);
    if (other && other !== this && other.batch) other.commitQuietly(other.batch);
  }

  private throwLost(): void {
    const lost = this.lost;
    this.lost = undefined;
    if (lost) throw lost;
  }

  async seenCopies(fingerprint: string, recipients: string[], since: number): Promise<Map<string, SeenCopy>> {
    const stmt = this.sql(
      `SELECT r.recipient, r.message, r.at, m.mailbox, m.uid FROM routed r LEFT JOIN messages m ON m.id = r.message
       WHERE r.fingerprint = ? AND r.recipient = ? AND r.at >= ? ORDER BY r.at LIMIT 1`,
    );
    const out = new Map<string, SeenCopy>();
    for (const recipient of recipients) {
      const row = stmt.get(fingerprint, recipient.toLowerCase(), since) as
        | { recipient: string; message: number; at: number; mailbox: string | null; uid: string | null }
        | undefined;
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
    this.joinBatch();
    const row = this.applyAttempt(id, u, a);
    await this.committed();
    return fromRow(row);
  }

  private readonly applyAttempt = this.lazyTransaction(
    (id: number, u: AttemptUpdate, a: AttemptRecord): MessageRow => {
      // Guarded (lifecycle.ts): applied only while the record is in the state the caller read it in.
      const expected = u.expect ?? this.stateOf(id);
      if (expected === undefined) throw new StoreConflictError(id, u.state, undefined, u.state);
      assertTransition(id, expected, u.state);
      const row = this.sql(
        `UPDATE messages SET state = ?, recipients = ?, next_attempt_at = ?, reason = ?, spool_key = ?,
             attempts = attempts + ?, updated_at = ? WHERE id = ? AND state = ? RETURNING *`,
      ).get(
        u.state,
        JSON.stringify(u.recipients),
        u.nextAttemptAt,
        u.reason,
        u.spoolKey,
        u.countsAsAttempt ? 1 : 0,
        a.at,
        id,
        expected,
      ) as MessageRow | undefined;
      if (!row) throw new StoreConflictError(id, expected, this.stateOf(id), u.state);
      this.sql('INSERT INTO attempts (message, at, outcome, detail, recipients) VALUES (?, ?, ?, ?, ?)').run(
        id,
        a.at,
        a.outcome,
        a.detail,
        JSON.stringify(a.recipients),
      );
      return row;
    },
  );

  private stateOf(id: number): MessageState | undefined {
    return (
      this.sql('SELECT state FROM messages WHERE id = ?').get(id) as { state: MessageState } | undefined
    )?.state;
  }

  async attemptsOf(id: number): Promise<AttemptRecord[]> {
    const rows = this.sql(
      'SELECT at, outcome, detail, recipients FROM attempts WHERE message = ? ORDER BY id',
    ).all(id) as Array<{ at: number; outcome: string; detail: string; recipients: string }>;
    return rows.map((r) => ({ ...r, recipients: JSON.parse(r.recipients) }));
  }

  async markSourceRemoved(ids: number[], at: number): Promise<void> {
    this.settle();
    const stmt = this.sql('UPDATE messages SET source_removed_at = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const id of ids) stmt.run(at, id);
    })();
  }

  async detach(ids: number[], at: number): Promise<void> {
    this.settle();
    const stmt = this.sql('UPDATE messages SET detached_at = ? WHERE id = ? AND detached_at IS NULL');
    this.db.transaction(() => {
      for (const id of ids) stmt.run(at, id);
    })();
  }

  async reassignUids(changes: Array<{ id: number; uid: string }>): Promise<void> {
    this.settle();
    const stmt = this.sql('UPDATE messages SET uid = ? WHERE id = ?');
    this.db.transaction(() => {
      for (const c of changes) stmt.run(c.uid, c.id);
    })();
  }

  async noteReadFailure(f: ReadFailure): Promise<number> {
    this.settle();
    const row = this.sql(
      `INSERT INTO read_failures (mailbox, uid, size, count, last_error, at) VALUES (?, ?, ?, 1, ?, ?)
         ON CONFLICT (mailbox, uid, size) DO UPDATE SET count = count + 1, last_error = excluded.last_error,
           at = excluded.at
         RETURNING count`,
    ).get(f.mailbox, f.uid, f.size, f.error, f.at) as { count: number };
    return row.count;
  }

  async attachBytes(id: number, b: FetchedBytes): Promise<MessageRecord> {
    this.settle();
    const row = this.sql(
      `UPDATE messages SET spool_key = ?, size = ?, sha256 = ?, header_digest = ?, message_id = ?, sender = ?,
           subject = ?, fetched_at = ?, updated_at = ? WHERE id = ? AND spool_key IS NULL RETURNING *`,
    ).get(
      b.spoolKey,
      b.size,
      b.sha256,
      b.headerDigest,
      b.messageId,
      b.sender,
      b.subject,
      b.fetchedAt,
      b.fetchedAt,
      id,
    ) as MessageRow | undefined;
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
    this.settle();
    const row = this.sql(
      'UPDATE messages SET filter = ?, recipients = ?, updated_at = ? WHERE id = ? RETURNING *',
    ).get(JSON.stringify(verdict), JSON.stringify(recipients), verdict.at, id) as MessageRow | undefined;
    if (!row) throw new PostboteError('STORE', `message ${id} is not in the store`, { temporary: false });
    return fromRow(row);
  }

  async discard(id: number): Promise<void> {
    this.settle();
    this.sql("DELETE FROM messages WHERE id = ? AND state IN ('spooled','deferred')").run(id);
    // Fetched again, it must not count as a duplicate of its own lost copy.
    this.sql('DELETE FROM routed WHERE message = ? AND NOT EXISTS (SELECT 1 FROM messages WHERE id = ?)').run(
      id,
      id,
    );
  }

  async pending(mailbox?: string): Promise<MessageRecord[]> {
    const rows = (
      mailbox === undefined
        ? this.sql("SELECT * FROM messages WHERE state IN ('spooled','deferred') ORDER BY id").all()
        : this.sql(
            "SELECT * FROM messages WHERE state IN ('spooled','deferred') AND mailbox = ? ORDER BY id",
          ).all(mailbox)
    ) as MessageRow[];
    return rows.map(fromRow);
  }

  async spoolKeys(): Promise<Set<string>> {
    const rows = this.sql('SELECT spool_key FROM messages WHERE spool_key IS NOT NULL').all() as Array<{
      spool_key: string;
    }>;
    return new Set(rows.map((r) => r.spool_key));
  }

  async recordSession(s: SessionRecord): Promise<void> {
    this.settle();
    this.sql(INSERTS.session).run(...sessionValues(s));
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
    const rows = this.sql('SELECT state, count(*) AS n FROM messages GROUP BY state').all() as Array<{
      state: MessageState;
      n: number;
    }>;
    for (const r of rows) out[r.state] = r.n;
    return out;
  }

  async sync(): Promise<void> {
    this.settle();
    // A commit under synchronous=FULL fsyncs the WAL, and with it every transaction before it.
    this.db.pragma('synchronous = FULL');
    try {
      const v = this.db.pragma('user_version', { simple: true }) as number;
      this.db.pragma(`user_version = ${(v + 1) % 2 ** 30}`);
    } finally {
      this.db.pragma('synchronous = NORMAL');
      // A checkpoint runs inside the commit that crosses the limit, on this (the only) thread, with two
      // fsyncs: at SQLite's default of 1000 pages that was every ~80 messages. 10000 pages (~40 MB of
      // WAL) makes it ten times rarer; journal_size_limit gives the space back after one.
      this.db.pragma('wal_autocheckpoint = 10000');
      this.db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    }
  }

  async searchMessages(q: MessageQuery): Promise<{ total: number; messages: MessageRecord[] }> {
    const { total, rows } = searchMessageRows(this.db, q);
    return { total, messages: (rows as MessageRow[]).map(fromRow) };
  }

  async sessionsOf(mailbox: string, limit: number): Promise<StoredSession[]> {
    return sessionsOf(this.db, mailbox, limit);
  }

  async activity(since: number, bucketMs: number, count: number): Promise<ActivityBucket[]> {
    return activity(this.db, since, bucketMs, count);
  }

  async fetchedSince(since: number): Promise<Map<string, number>> {
    return fetchedSince(this.db, since);
  }

  async close(): Promise<void> {
    if (this.db.open) this.settle();
    if (this.db.open) this.db.close();
  }
}
