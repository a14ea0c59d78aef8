// Rows as both stores write them: one column list and one value order per table, so the SQLite and
// PostgreSQL dialects of the same INSERT cannot drift apart.
import type { NewMessage, SessionRecord } from './types.js';

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

/** The INSERTs of a new message (returning its row) and of a pass, in one dialect: built once. */
export function insertStatements(dialect: 'sqlite' | 'postgres'): { message: string; session: string } {
  return {
    message: `INSERT INTO messages (${NEW_MESSAGE_COLUMNS}) VALUES (${placeholders(dialect, NEW_MESSAGE_VALUE_COUNT)}) RETURNING *`,
    session: `INSERT INTO sessions (${SESSION_COLUMNS}) VALUES (${placeholders(dialect, SESSION_VALUE_COUNT)})`,
  };
}
