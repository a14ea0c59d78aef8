// What a mailbox pass needs and gives: the plan of one mailbox (from the configuration, with a way to
// open its source session), the pass's options and events, and its summary.
import type { PostboteError } from '../errors.js';
import type { FilterSet } from '../filters/scan.js';
import type { RouteInput } from '../routing/types.js';
import type { SourceSession } from '../source/types.js';
import type { MessageRecord, SessionRecord } from '../store/types.js';

export interface OpenOptions {
  /** false: one command at a time even if the server offers PIPELINING (after a desynchronised session). */
  pipelining?: boolean;
  /** Raises the session's message size limit (to fetch messages an admin released whatever their size). */
  maxMessageSize?: number;
}

export interface MailboxPlan {
  name: string;
  user: string;
  keep: boolean;
  deleteAfterDays?: number;
  maxMessageSize: number;
  maxReceivedHeaders: number;
  /** 'return-path' | 'mailbox' | '<>' (null sender) | a fixed address. */
  envelopeSender: string;
  route: RouteInput;
  fallback?: string;
  protocol: 'pop3' | 'imap';
  host: string;
  /** Whether the source session runs over TLS, for the Received header. */
  secure: boolean;
  /** Told about quarantined and rerouted mail (delivery.postmaster). */
  postmaster?: string;
  /** Spam/virus scanners between spool and delivery (src/filters/); absent: none. */
  filters?: FilterSet;
  open(options?: OpenOptions): Promise<SourceSession>;
}

export type PassEvent =
  | { type: 'listed'; mailbox: string; count: number; fresh: number }
  | {
      type: 'message';
      mailbox: string;
      uid: string;
      outcome: MessageRecord['state'] | 'skipped';
      bytes: number;
      /** The record as decided, for the per-message log line. */
      record: MessageRecord;
      /** Milliseconds from taking the message in hand to its fate. */
      ms: number;
    };

export interface PassOptions {
  /** Retry deferred messages now regardless of their backoff (`postbote fetch`). */
  force?: boolean;
  /** Deliver what is spooled and due, without a provider session (the scheduler's retries). */
  pendingOnly?: boolean;
  /** Stop after the message in hand (SIGTERM). */
  signal?: AbortSignal;
  onEvent?: (event: PassEvent) => void;
  /** Throws unless this instance still holds the mailbox's lease (shared PostgreSQL state): before DELE. */
  assertLease?: () => Promise<void>;
}

/** A pass's counts are the session record the store keeps, plus what the caller needs to decide. */
export interface PassSummary extends Omit<SessionRecord, 'error'> {
  ok: boolean;
  /** Messages of this mailbox still waiting for delivery after the pass. */
  pending: number;
  error?: PostboteError;
  /** Not run here: another instance sharing the PostgreSQL state holds the mailbox (its name). */
  heldBy?: string;
}

/** The counts of a pass before it did anything (`ok` until something fails; `endedAt` set at its end). */
export function emptySummary(mailbox: string, ok: boolean, startedAt: number, endedAt: number): PassSummary {
  return {
    mailbox,
    ok,
    listed: 0,
    fetched: 0,
    delivered: 0,
    deferred: 0,
    quarantined: 0,
    removed: 0,
    bytes: 0,
    pending: 0,
    startedAt,
    endedAt,
  };
}
