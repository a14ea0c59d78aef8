// Records as both stores read them: a messages row and the MessageRecord it maps to, an attempt's row,
// an earlier copy for duplicate suppression and the counts by state, so SQLite and PostgreSQL agree.
import { displayHeader } from '../message/display.js';
import type { AttemptRecord, MessageRecord, MessageState, NewMessage, SeenCopy } from './types.js';

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

/** An attempts row: the log entry with its recipients as JSON text. */
export interface AttemptRow {
  at: number;
  outcome: string;
  detail: string;
  recipients: string;
}

export function attemptFromRow(r: AttemptRow): AttemptRecord {
  return { ...r, recipients: JSON.parse(r.recipients) };
}

/** The earliest routed row of a fingerprint for one recipient, with its record (gone: NULLs). */
export interface SeenRow {
  message: number;
  at: number;
  mailbox: string | null;
  uid: string | null;
}

export function seenCopyFromRow(recipient: string, row: SeenRow): SeenCopy {
  return {
    recipient,
    messageId: row.message,
    at: row.at,
    mailbox: row.mailbox ?? '(forgotten)',
    uid: row.uid ?? '',
  };
}

/** Every state at 0, for counts(): a state without records still shows. */
export function emptyCounts(): Record<MessageState, number> {
  return {
    spooled: 0,
    deferred: 0,
    delivered: 0,
    quarantined: 0,
    deleted: 0,
    duplicate: 0,
  };
}

/** The recipients a new record remembers as seen (its routed rows): the pending ones, lower case. */
export function seenRecipients(m: NewMessage): string[] {
  return m.recipients.filter((r) => r.status === 'pending').map((r) => r.address.toLowerCase());
}
