// The shapes a delivery attempt is called with and returns: the shared context (target, spool, store,
// retry policy), what the source mailbox adds, and the outcome the pass acts on.
import type { PostboteError } from '../errors.js';
import type { FilterSet } from '../filters/scan.js';
import type { Logger } from '../log.js';
import type { Spool } from '../spool/spool.js';
import type { MessageRecord, Store } from '../store/types.js';
import type { Target } from './target.js';

export interface RetryPolicy {
  initial: number;
  max: number;
  expireAfter: number;
}

export interface DeliveryContext {
  target: Target;
  spool: Spool;
  store: Store;
  logger: Logger;
  retry: RetryPolicy;
  /** This host's name, for the Received header. */
  hostname: string;
  now: () => number;
}

/** What the mailbox the message came from adds to its delivery. */
export interface MessageOrigin {
  protocol: 'pop3' | 'imap';
  server: string;
  secure: boolean;
  /** Where mail refused with 5xx goes instead of quarantine. */
  fallback?: string;
  /** Spam/virus scanners run once before the first delivery (src/filters/). */
  filters?: FilterSet;
  /** The mailbox's login, passed to scanners as the user (per-user settings in rspamd/spamd). */
  mailboxUser?: string;
}

export type AttemptOutcome =
  /** Delivered or quarantined: safe to remove at the source. */
  | { kind: 'final'; record: MessageRecord }
  /** Some recipient still pending: retried later. */
  | { kind: 'deferred'; record: MessageRecord; error?: PostboteError }
  /** The target refuses Postbote (or is unreachable): stop delivering for now; the message is untouched. */
  | { kind: 'target-unavailable'; record: MessageRecord; error: PostboteError };

/** What the caller already knows of the spooled bytes. */
export interface SpooledHints {
  /** The header block as captured while spooling (spool.write): spares reading the file to see if it needs SMTPUTF8. */
  header?: Buffer;
}
