// Rows as both stores write them: one column list and one value order per table, so the SQLite and
// PostgreSQL dialects of the same INSERT cannot drift apart.
import type { AttemptRecord, AttemptUpdate, MessageState, NewMessage, SessionRecord } from './types.js';

export type SqlValue = string | number | null;

/** `?, ?, …` for SQLite, `$1, $2, …` for PostgreSQL: one placeholder per value. */
function placeholders(dialect: 'sqlite' | 'postgres', count: number): string {
  return Array.from({ length: count }, (_, i) => (dialect === 'sqlite' ? '?' : `$${i + 1}`)).join(', ');
}

const NEW_MESSAGE_COLUMNS =
  'mailbox, uid, state, spool_key, size, sha256, message_id, sender, subject, recipients, fetched_at, ' +
  'updated_at, fingerprint, explanation, source_size, header_digest, source_date';

const NEW_MESSAGE_VALUE_COUNT = NEW_MESSAGE_COLUMNS.split(',').length;

/** A just-spooled message's row, in NEW_MESSAGE_COLUMNS order. */
export function newMessageValues(m: NewMessage): SqlValue[] {
  return [
    m.mailbox,
    m.uid,
    'spooled',
    m.spoolKey,
    m.size,
    m.sha256,
    m.messageId,
    m.sender,
    m.subject,
    JSON.stringify(m.recipients),
    m.fetchedAt,
    m.fetchedAt,
    m.fingerprint ?? null,
    m.explanation ? JSON.stringify(m.explanation) : null,
    m.sourceSize ?? null,
    m.headerDigest ?? null,
    m.sourceDate ?? null,
  ];
}

const SESSION_COLUMNS =
  'mailbox, started_at, ended_at, listed, fetched, delivered, deferred, quarantined, removed, bytes, error';

const SESSION_VALUE_COUNT = SESSION_COLUMNS.split(',').length;

/** A pass's row, in SESSION_COLUMNS order. */
export function sessionValues(s: SessionRecord): SqlValue[] {
  return [
    s.mailbox,
    s.startedAt,
    s.endedAt,
    s.listed,
    s.fetched,
    s.delivered,
    s.deferred,
    s.quarantined,
    s.removed,
    s.bytes,
    s.error,
  ];
}

/** An attempt's update of its message, guarded by the state the caller read (`expected`). */
const ATTEMPT_UPDATE =
  'UPDATE messages SET state = ?, recipients = ?, next_attempt_at = ?, reason = ?, spool_key = ?, ' +
  'attempts = attempts + ?, updated_at = ? WHERE id = ? AND state = ? RETURNING *';

/** ATTEMPT_UPDATE's values, in its order (`id` and `expected` for its WHERE last). */
export function attemptUpdateValues(
  id: number,
  u: AttemptUpdate,
  a: AttemptRecord,
  expected: MessageState,
): SqlValue[] {
  return [
    u.state,
    JSON.stringify(u.recipients),
    u.nextAttemptAt,
    u.reason,
    u.spoolKey,
    u.countsAsAttempt ? 1 : 0,
    a.at,
    id,
    expected,
  ];
}

const ATTEMPT_COLUMNS = 'message, at, outcome, detail, recipients';

/** The attempt's own row, in ATTEMPT_COLUMNS order. */
export function attemptValues(id: number, a: AttemptRecord): SqlValue[] {
  return [id, a.at, a.outcome, a.detail, JSON.stringify(a.recipients)];
}

/** `?` as SQLite writes it, `$n` (numbered left to right) as PostgreSQL does. */
function numbered(dialect: 'sqlite' | 'postgres', sql: string): string {
  let n = 0;
  return dialect === 'sqlite' ? sql : sql.replace(/\?/g, () => `$${++n}`);
}

export interface Statements {
  /** A new message, returning its row. */
  message: string;
  /** A pass. */
  session: string;
  /** An attempt's outcome on its message, returning the row (none: the state was not `expected`). */
  attemptUpdate: string;
  /** The attempt in the message's history. */
  attempt: string;
}

/** The writes both stores make alike, in one dialect: built once. */
export function insertStatements(dialect: 'sqlite' | 'postgres'): Statements {
  return {
    message: `INSERT INTO messages (${NEW_MESSAGE_COLUMNS}) VALUES (${placeholders(dialect, NEW_MESSAGE_VALUE_COUNT)}) RETURNING *`,
    session: `INSERT INTO sessions (${SESSION_COLUMNS}) VALUES (${placeholders(dialect, SESSION_VALUE_COUNT)})`,
    attemptUpdate: numbered(dialect, ATTEMPT_UPDATE),
    attempt: `INSERT INTO attempts (${ATTEMPT_COLUMNS}) VALUES (${placeholders(dialect, ATTEMPT_COLUMNS.split(',').length)})`,
  };
}
