// The SQLite store's reads: records by mailbox, id or state, attempts, earlier copies, spool keys and
// counts, plus the web page's queries (sqlite-queries.ts). SqliteStore (sqlite.ts) adds the writes.
import {
  type AttemptRow,
  attemptFromRow,
  emptyCounts,
  fromRow,
  type MessageRow,
  type SeenRow,
  seenCopyFromRow,
} from './records.js';
import { SqliteConnection } from './sqlite-connection.js';
import { activity, fetchedSince, searchMessageRows, sessionsOf } from './sqlite-queries.js';
import type {
  ActivityBucket,
  AttemptRecord,
  MessageQuery,
  MessageRecord,
  MessageState,
  SeenCopy,
  StoredSession,
} from './types.js';

export abstract class SqliteReader {
  protected readonly conn: SqliteConnection;

  constructor(file: string) {
    this.conn = new SqliteConnection(file);
  }

  async messagesOf(mailbox: string): Promise<MessageRecord[]> {
    // Two indexed halves instead of one OR (which would scan a mailbox's whole history on every poll).
    const rows = this.conn
      .sql(
        `SELECT * FROM messages WHERE mailbox = ? AND detached_at IS NULL
       UNION ALL
       SELECT * FROM messages WHERE state IN ('spooled','deferred') AND mailbox = ? AND detached_at IS NOT NULL
       ORDER BY id`,
      )
      .all(mailbox, mailbox) as MessageRow[];
    return rows.map(fromRow);
  }

  async get(id: number): Promise<MessageRecord | undefined> {
    const row = this.conn.sql('SELECT * FROM messages WHERE id = ?').get(id) as MessageRow | undefined;
    return row && fromRow(row);
  }

  async seenCopies(fingerprint: string, recipients: string[], since: number): Promise<Map<string, SeenCopy>> {
    const stmt = this.conn.sql(
      `SELECT r.recipient, r.message, r.at, m.mailbox, m.uid FROM routed r LEFT JOIN messages m ON m.id = r.message
       WHERE r.fingerprint = ? AND r.recipient = ? AND r.at >= ? ORDER BY r.at LIMIT 1`,
    );
    const out = new Map<string, SeenCopy>();
    for (const recipient of recipients) {
      const row = stmt.get(fingerprint, recipient.toLowerCase(), since) as
        | (SeenRow & { recipient: string })
        | undefined;
      if (row) out.set(recipient, seenCopyFromRow(recipient, row));
    }
    return out;
  }

  async attemptsOf(id: number): Promise<AttemptRecord[]> {
    const rows = this.conn
      .sql('SELECT at, outcome, detail, recipients FROM attempts WHERE message = ? ORDER BY id')
      .all(id) as AttemptRow[];
    return rows.map(attemptFromRow);
  }

  async pending(mailbox?: string): Promise<MessageRecord[]> {
    const rows = (
      mailbox === undefined
        ? this.conn.sql("SELECT * FROM messages WHERE state IN ('spooled','deferred') ORDER BY id").all()
        : this.conn
            .sql("SELECT * FROM messages WHERE state IN ('spooled','deferred') AND mailbox = ? ORDER BY id")
            .all(mailbox)
    ) as MessageRow[];
    return rows.map(fromRow);
  }

  async spoolKeys(): Promise<Set<string>> {
    const rows = this.conn.sql('SELECT spool_key FROM messages WHERE spool_key IS NOT NULL').all() as Array<{
      spool_key: string;
    }>;
    return new Set(rows.map((r) => r.spool_key));
  }

  async counts(): Promise<Record<MessageState, number>> {
    const out = emptyCounts();
    const rows = this.conn.sql('SELECT state, count(*) AS n FROM messages GROUP BY state').all() as Array<{
      state: MessageState;
      n: number;
    }>;
    for (const r of rows) out[r.state] = r.n;
    return out;
  }

  async searchMessages(q: MessageQuery): Promise<{ total: number; messages: MessageRecord[] }> {
    const { total, rows } = searchMessageRows(this.conn.db, q);
    return { total, messages: (rows as MessageRow[]).map(fromRow) };
  }

  async sessionsOf(mailbox: string, limit: number): Promise<StoredSession[]> {
    return sessionsOf(this.conn.db, mailbox, limit);
  }

  async activity(since: number, bucketMs: number, count: number): Promise<ActivityBucket[]> {
    return activity(this.conn.db, since, bucketMs, count);
  }

  async fetchedSince(since: number): Promise<Map<string, number>> {
    return fetchedSince(this.conn.db, since);
  }
}
