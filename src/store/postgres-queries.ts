// Read-only queries for the web page and the API over the PostgreSQL store, the twins of
// sqlite-queries.ts: the message log with filters and pages, sessions, activity per bucket.
import { MAX_PAGE } from './sqlite-queries.js';
import type { ActivityBucket, MessageQuery, StoredSession } from './types.js';

/** Runs one named statement and returns its rows. */
export type Run = <R extends Record<string, unknown>>(text: string, values: unknown[]) => Promise<R[]>;

/** ILIKE pattern that matches `text` literally anywhere; ILIKE because SQLite's LIKE ignores ASCII case. */
function contains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function where(q: MessageQuery): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const like = (column: string, value: string | undefined) => {
    if (value === undefined || value === '') return;
    parts.push(`${column} ILIKE ${p(contains(value))}`);
  };
  if (q.mailbox) parts.push(`mailbox = ${p(q.mailbox)}`);
  if (q.states && q.states.length > 0) parts.push(`state = ANY(${p(q.states)}::text[])`);
  like('sender', q.sender);
  like('recipients', q.recipient);
  like('subject', q.subject);
  like('message_id', q.messageId);
  if (q.text) {
    const t = p(contains(q.text));
    parts.push(`(sender ILIKE ${t} OR recipients ILIKE ${t} OR subject ILIKE ${t} OR message_id ILIKE ${t})`);
  }
  if (q.since !== undefined) parts.push(`fetched_at >= ${p(q.since)}`);
  if (q.until !== undefined) parts.push(`fetched_at < ${p(q.until)}`);
  return { sql: parts.length > 0 ? `WHERE ${parts.join(' AND ')}` : '', params };
}

export async function searchPg(run: Run, q: MessageQuery): Promise<{ total: number; rows: unknown[] }> {
  const w = where(q);
  const [count] = await run<{ n: number }>(`SELECT count(*) AS n FROM messages ${w.sql}`, w.params);
  const limit = Math.max(1, Math.min(MAX_PAGE, q.limit ?? 50));
  const n = w.params.length;
  const rows = await run(
    `SELECT * FROM messages ${w.sql} ORDER BY fetched_at DESC, id DESC LIMIT $${n + 1} OFFSET $${n + 2}`,
    [...w.params, limit, Math.max(0, q.offset ?? 0)],
  );
  return { total: count?.n ?? 0, rows };
}

interface SessionRow extends Record<string, unknown> {
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

export async function sessionsOfPg(run: Run, mailbox: string, limit: number): Promise<StoredSession[]> {
  const rows = await run<SessionRow>(
    'SELECT * FROM sessions WHERE mailbox = $1 ORDER BY started_at DESC, id DESC LIMIT $2',
    [mailbox, Math.max(1, Math.min(MAX_PAGE, limit))],
  );
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

export async function activityPg(
  run: Run,
  since: number,
  bucketMs: number,
  count: number,
): Promise<ActivityBucket[]> {
  const rows = await run<{ b: number; fetched: number; delivered: number }>(
    `SELECT (ended_at - $1::bigint) / $2::bigint AS b, sum(fetched)::bigint AS fetched,
         sum(delivered)::bigint AS delivered
       FROM sessions WHERE ended_at >= $1::bigint AND ended_at < $3::bigint GROUP BY b`,
    [since, bucketMs, since + bucketMs * count],
  );
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

export async function fetchedSincePg(run: Run, since: number): Promise<Map<string, number>> {
  const rows = await run<{ mailbox: string; n: number }>(
    'SELECT mailbox, sum(fetched)::bigint AS n FROM sessions WHERE ended_at >= $1 GROUP BY mailbox',
    [since],
  );
  return new Map(rows.map((r) => [r.mailbox, r.n]));
}
