// Read-only queries for the web page and the API over the SQLite store: the message log with filters
// and pages, a mailbox's recent sessions, and activity per hour or day (from the sessions table, so
// messages forgotten in keep mode still count).
import type Database from 'better-sqlite3';
import type { ActivityBucket, MessageQuery, StoredSession } from './types.js';

/** Pages of the message log: enough for a screen, small enough that a search never scans everything. */
export const MAX_PAGE = 500;

interface SessionRow {
  id: number;
  mailbox: string;
  started_at: number;
  ended_at: number;
  listed: number;
  fetched: number;
  delivered: number;
  deferred: number;
  quarantined: number;
  removed: number;
  bytes: number;
  error: string | null;
}

/** LIKE pattern that matches `text` literally anywhere (%, _ and \ in user input are not wildcards). */
function contains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The WHERE clause and parameters for a message search; every filter is optional and they combine. */
function where(q: MessageQuery): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const like = (column: string, value: string | undefined) => {
    if (value === undefined || value === '') return;
    parts.push(`${column} LIKE ? ESCAPE '\\'`);
    params.push(contains(value));
  };
  if (q.mailbox) {
    parts.push('mailbox = ?');
    params.push(q.mailbox);
  }
  if (q.states && q.states.length > 0) {
    parts.push(`state IN (${q.states.map(() => '?').join(',')})`);
    params.push(...q.states);
  }
  like('sender', q.sender);
  like('recipients', q.recipient);
  like('subject', q.subject);
  like('message_id', q.messageId);
  if (q.text) {
    parts.push(
      `(sender LIKE ? ESCAPE '\\' OR recipients LIKE ? ESCAPE '\\' OR subject LIKE ? ESCAPE '\\' OR message_id LIKE ? ESCAPE '\\')`,
    );
    params.push(...Array(4).fill(contains(q.text)));
  }
  if (q.since !== undefined) {
    parts.push('fetched_at >= ?');
    params.push(q.since);
  }
  if (q.until !== undefined) {
    parts.push('fetched_at < ?');
    params.push(q.until);
  }
  return { sql: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', params };
}

export function searchMessageRows(
  db: Database.Database,
  q: MessageQuery,
): { total: number; rows: unknown[] } {
  const w = where(q);
  const total = (db.prepare(`SELECT count(*) AS n FROM messages ${w.sql}`).get(...w.params) as { n: number })
    .n;
  const limit = Math.max(1, Math.min(MAX_PAGE, q.limit ?? 50));
  const rows = db
    .prepare(`SELECT * FROM messages ${w.sql} ORDER BY fetched_at DESC, id DESC LIMIT ? OFFSET ?`)
    .all(...w.params, limit, Math.max(0, q.offset ?? 0));
  return { total, rows };
}

export function sessionsOf(db: Database.Database, mailbox: string, limit: number): StoredSession[] {
  const rows = db
    .prepare('SELECT * FROM sessions WHERE mailbox = ? ORDER BY started_at DESC, id DESC LIMIT ?')
    .all(mailbox, Math.max(1, Math.min(MAX_PAGE, limit))) as SessionRow[];
  return rows.map((r) => ({
    id: r.id,
    mailbox: r.mailbox,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    listed: r.listed,
    fetched: r.fetched,
    delivered: r.delivered,
    deferred: r.deferred,
    quarantined: r.quarantined,
    removed: r.removed,
    bytes: r.bytes,
    error: r.error,
  }));
}

/** `count` buckets of `bucketMs` starting at `since`, each with the messages fetched and delivered. */
export function activity(
  db: Database.Database,
  since: number,
  bucketMs: number,
  count: number,
): ActivityBucket[] {
  const rows = db
    .prepare(
      `SELECT CAST((ended_at - ?) / ? AS INTEGER) AS b, sum(fetched) AS fetched, sum(delivered) AS delivered
         FROM sessions WHERE ended_at >= ? AND ended_at < ? GROUP BY b`,
    )
    .all(since, bucketMs, since, since + bucketMs * count) as Array<{
    b: number;
    fetched: number;
    delivered: number;
  }>;
  const out: ActivityBucket[] = Array.from({ length: count }, (_, i) => ({
    start: since + i * bucketMs,
    fetched: 0,
    delivered: 0,
  }));
  for (const r of rows) {
    const bucket = out[Math.floor(r.b)];
    if (bucket) {
      bucket.fetched = r.fetched;
      bucket.delivered = r.delivered;
    }
  }
  return out;
}

/** Messages fetched per mailbox since `since` (the dashboard's "today"). */
export function fetchedSince(db: Database.Database, since: number): Map<string, number> {
  const rows = db
    .prepare('SELECT mailbox, sum(fetched) AS n FROM sessions WHERE ended_at >= ? GROUP BY mailbox')
    .all(since) as Array<{ mailbox: string; n: number }>;
  return new Map(rows.map((r) => [r.mailbox, r.n]));
}
