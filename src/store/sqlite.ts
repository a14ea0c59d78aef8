// The embedded store: SQLite through better-sqlite3 in WAL mode. Commits use synchronous=NORMAL: a
// committed record survives a kill -9 at once (it is in the WAL, in the page cache), and a power cut
// after the next sync(), which the pass calls before deleting anything at the provider (group commit).
// Synchronous calls wrapped in the asynchronous Store contract.
// Reads are in sqlite-reader.ts, the group commit in sqlite-batch.ts; this class adds the writes.

import { PostboteError } from '../errors.js';
import type { FilterVerdict } from '../filters/types.js';
import { assertTransition, DuplicateRaceError, StoreConflictError } from './lifecycle.js';
import { fromRow, type MessageRow, seenRecipients } from './records.js';
import {
  attemptUpdateValues,
  attemptValues,
  insertStatements,
  newMessageValues,
  sessionValues,
} from './rows.js';
import { GroupCommit } from './sqlite-batch.js';
import { applyMigrations } from './sqlite-migrations.js';
import { SqliteReader } from './sqlite-reader.js';
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

const INSERTS = insertStatements('sqlite');

export class SqliteStore extends SqliteReader implements Store {
  /** Group commit (sqlite-batch.ts): only addSpooled and recordAttempt join the batch. */
  private readonly commits = new GroupCommit(this.conn);

  async migrate(): Promise<void> {
    this.commits.settle();
    applyMigrations(this.conn);
  }

  async addSpooled(m: NewMessage): Promise<MessageRecord> {
    this.commits.joinBatch();
    return fromRow(this.insertSpooled(m));
  }

  /** Made once: better-sqlite3 builds a wrapper per transaction() call, which showed in profiles. */
  private readonly insertSpooled = this.conn.lazyTransaction((m: NewMessage): MessageRow => {
    if (m.fingerprint !== undefined && m.duplicateSince !== undefined) {
      const seen = this.conn.sql(
        'SELECT 1 FROM routed WHERE fingerprint = ? AND recipient = ? AND at >= ? LIMIT 1',
      );
      const raced = seenRecipients(m).filter(
        (r) => seen.get(m.fingerprint, r, m.duplicateSince) !== undefined,
      );
      if (raced.length > 0) throw new DuplicateRaceError(m.fingerprint, raced);
    }
    const row = this.conn.sql(INSERTS.message).get(...newMessageValues(m)) as MessageRow;
    // Read at last: whatever failed before is history.
    this.conn.sql('DELETE FROM read_failures WHERE mailbox = ? AND uid = ?').run(m.mailbox, m.uid);
    // Seen rows commit with the record: a crash can never leave a delivered copy unremembered.
    if (m.fingerprint !== undefined) {
      const seen = this.conn.sql(
        'INSERT INTO routed (message, fingerprint, recipient, at) VALUES (?, ?, ?, ?)',
      );
      for (const r of seenRecipients(m)) seen.run(row.id, m.fingerprint, r, m.fetchedAt);
    }
    return row;
  });

  async recordAttempt(id: number, u: AttemptUpdate, a: AttemptRecord): Promise<MessageRecord> {
    this.commits.joinBatch();
    const row = this.applyAttempt(id, u, a);
    await this.commits.committed();
    return fromRow(row);
  }

  private readonly applyAttempt = this.conn.lazyTransaction(
    (id: number, u: AttemptUpdate, a: AttemptRecord): MessageRow => {
      // Guarded (lifecycle.ts): applied only while the record is in the state the caller read it in.
      const expected = u.expect ?? this.stateOf(id);
      if (expected === undefined) throw new StoreConflictError(id, u.state, undefined, u.state);
      assertTransition(id, expected, u.state);
      const row = this.conn.sql(INSERTS.attemptUpdate).get(...attemptUpdateValues(id, u, a, expected)) as
        | MessageRow
        | undefined;
      if (!row) throw new StoreConflictError(id, expected, this.stateOf(id), u.state);
      this.conn.sql(INSERTS.attempt).run(...attemptValues(id, a));
      return row;
    },
  );

  private stateOf(id: number): MessageState | undefined {
    return (
      this.conn.sql('SELECT state FROM messages WHERE id = ?').get(id) as { state: MessageState } | undefined
    )?.state;
  }

  async markSourceRemoved(ids: number[], at: number): Promise<void> {
    this.commits.settle();
    const stmt = this.conn.sql('UPDATE messages SET source_removed_at = ? WHERE id = ?');
    this.conn.db.transaction(() => {
      for (const id of ids) stmt.run(at, id);
    })();
  }

  async detach(ids: number[], at: number): Promise<void> {
    this.commits.settle();
    const stmt = this.conn.sql('UPDATE messages SET detached_at = ? WHERE id = ? AND detached_at IS NULL');
    this.conn.db.transaction(() => {
      for (const id of ids) stmt.run(at, id);
    })();
  }

  async reassignUids(changes: Array<{ id: number; uid: string }>): Promise<void> {
    this.commits.settle();
    const stmt = this.conn.sql('UPDATE messages SET uid = ? WHERE id = ?');
    this.conn.db.transaction(() => {
      for (const c of changes) stmt.run(c.uid, c.id);
    })();
  }

  async noteReadFailure(f: ReadFailure): Promise<number> {
    this.commits.settle();
    const row = this.conn
      .sql(
        `INSERT INTO read_failures (mailbox, uid, size, count, last_error, at) VALUES (?, ?, ?, 1, ?, ?)
         ON CONFLICT (mailbox, uid, size) DO UPDATE SET count = count + 1, last_error = excluded.last_error,
           at = excluded.at
         RETURNING count`,
      )
      .get(f.mailbox, f.uid, f.size, f.error, f.at) as { count: number };
    return row.count;
  }

  async attachBytes(id: number, b: FetchedBytes): Promise<MessageRecord> {
    this.commits.settle();
    const row = this.conn
      .sql(
        `UPDATE messages SET spool_key = ?, size = ?, sha256 = ?, header_digest = ?, message_id = ?, sender = ?,
           subject = ?, fetched_at = ?, updated_at = ? WHERE id = ? AND spool_key IS NULL RETURNING *`,
      )
      .get(
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
    this.commits.settle();
    const row = this.conn
      .sql('UPDATE messages SET filter = ?, recipients = ?, updated_at = ? WHERE id = ? RETURNING *')
      .get(JSON.stringify(verdict), JSON.stringify(recipients), verdict.at, id) as MessageRow | undefined;
    if (!row) throw new PostboteError('STORE', `message ${id} is not in the store`, { temporary: false });
    return fromRow(row);
  }

  async discard(id: number): Promise<void> {
    this.commits.settle();
    this.conn.sql("DELETE FROM messages WHERE id = ? AND state IN ('spooled','deferred')").run(id);
    // Fetched again, it must not count as a duplicate of its own lost copy.
    this.conn
      .sql('DELETE FROM routed WHERE message = ? AND NOT EXISTS (SELECT 1 FROM messages WHERE id = ?)')
      .run(id, id);
  }

  async recordSession(s: SessionRecord): Promise<void> {
    this.commits.settle();
    this.conn.sql(INSERTS.session).run(...sessionValues(s));
  }

  async sync(): Promise<void> {
    this.commits.settle();
    this.conn.syncCommit();
  }

  async close(): Promise<void> {
    if (this.conn.db.open) this.commits.settle();
    if (this.conn.db.open) this.conn.db.close();
  }
}
