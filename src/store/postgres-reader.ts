// The PostgreSQL store's reads, all on the pool outside any transaction: records by mailbox, id or
// state, attempts, earlier copies, spool keys and counts, plus the web page's queries
// (postgres-queries.ts). PostgresStore (postgres.ts) adds the writes, fencing and migrations.
import type pg from 'pg';
import { PgConnection } from './postgres-pool.js';
import { activityPg, fetchedSincePg, searchPg, sessionsOfPg } from './postgres-queries.js';
import {
  type AttemptRow,
  attemptFromRow,
  emptyCounts,
  fromRow,
  type MessageRow,
  type SeenRow,
  seenCopyFromRow,
} from './records.js';
import type {
  ActivityBucket,
  AttemptRecord,
  MessageQuery,
  MessageRecord,
  MessageState,
  SeenCopy,
  StoredSession,
} from './types.js';

export abstract class PostgresReader {
  protected readonly db: PgConnection;

  constructor(url: string, poolSize?: number) {
    this.db = new PgConnection(url, poolSize);
  }

  get pool(): pg.Pool {
    return this.db.pool;
  }

  /** The URL with its password masked, for messages and logs. */
  get where(): string {
    return this.db.where;
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

  async seenCopies(fingerprint: string, recipients: string[], since: number): Promise<Map<string, SeenCopy>> {
    const out = new Map<string, SeenCopy>();
    for (const recipient of recipients) {
      const [row] = await this.db.q<SeenRow>(
        this.pool,
        `SELECT r.message, r.at, m.mailbox, m.uid FROM routed r LEFT JOIN messages m ON m.id = r.message
         WHERE r.fingerprint = $1 AND r.recipient = $2 AND r.at >= $3 ORDER BY r.at LIMIT 1`,
        [fingerprint, recipient.toLowerCase(), since],
      );
      if (row) out.set(recipient, seenCopyFromRow(recipient, row));
    }
    return out;
  }

  async attemptsOf(id: number): Promise<AttemptRecord[]> {
    const rows = await this.db.q<AttemptRow>(
      this.pool,
      'SELECT at, outcome, detail, recipients FROM attempts WHERE message = $1 ORDER BY id',
      [id],
    );
    return rows.map(attemptFromRow);
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

  async counts(): Promise<Record<MessageState, number>> {
    const out = emptyCounts();
    const rows = await this.db.q<{ state: MessageState; n: number }>(
      this.pool,
      'SELECT state, count(*) AS n FROM messages GROUP BY state',
    );
    for (const r of rows) out[r.state] = r.n;
    return out;
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
}
