// The store's contract: what was fetched, where it went and why. Asynchronous so that a PostgreSQL
// backend (several instances sharing the work) slots in beside the SQLite one without touching callers.
import type { FilterVerdict } from '../filters/types.js';

/**
 * A message's life: spooled → delivered | deferred (→ retried) | quarantined (→ released | deleted by an
 * admin); or duplicate: every recipient already got this message within the duplicate window.
 */
export type MessageState = 'spooled' | 'deferred' | 'delivered' | 'quarantined' | 'deleted' | 'duplicate';

/** States after which the provider's copy may go: the message is safe elsewhere. */
export const FINAL_STATES: ReadonlySet<MessageState> = new Set([
  'delivered',
  'quarantined',
  'deleted',
  'duplicate',
]);

/** 'duplicate': this recipient already got the message (same fingerprint) within the window. */
export type RecipientStatus = 'pending' | 'delivered' | 'rerouted' | 'refused' | 'duplicate';

export interface StoredReply {
  code: number | string;
  enhanced?: string;
  text: string;
}

/** One envelope recipient of a message and what became of it. */
export interface RecipientRecord {
  address: string;
  status: RecipientStatus;
  /** Why this recipient was chosen (routing) or what happened to it (e.g. 'fallback for bob@corp.local'). */
  reason: string;
  /** The target's last reply for this recipient. */
  reply?: StoredReply;
  /** status 'duplicate': the id of the earlier record this recipient already got the message with. */
  duplicateOf?: number;
}

export interface MessageRecord {
  id: number;
  mailbox: string;
  /** The source's stable id (POP3 UIDL). */
  uid: string;
  state: MessageState;
  /** Spool file key while the bytes are kept (spooled, deferred, quarantined); null once delivered. */
  spoolKey: string | null;
  size: number;
  sha256: string;
  messageId: string | null;
  sender: string;
  subject: string | null;
  recipients: RecipientRecord[];
  attempts: number;
  nextAttemptAt: number | null;
  /** Why it is deferred or quarantined, in the user's terms, with the server's words. */
  reason: string | null;
  fetchedAt: number;
  updatedAt: number;
  /** When the provider confirmed removal (POP3 QUIT after DELE); null while it is still there. */
  sourceRemovedAt: number | null;
  /** The routing decision step by step (headers, aliases, rules, duplicates); empty for older records. */
  explanation?: string[];
  /** The size the server listed when it was fetched (POP3 LIST); null for older records. */
  sourceSize?: number | null;
  /** Digest of the header block as fetched (see message/header-digest.ts); null when not fetched. */
  headerDigest?: string | null;
  /**
   * When the uid stopped designating this record at the source (vanished from a listing, or reused
   * by the server for another message); null while it does.
   */
  detachedAt?: number | null;
  /** IMAP INTERNALDATE (epoch ms) when it was fetched, to recognise it under a new UIDVALIDITY; null for POP3. */
  sourceDate?: number | null;
  /**
   * The spam/virus filter's verdict (src/filters/): scanner results, the action taken and the header
   * edits delivery applies; null until filtered, or when no filter is configured.
   */
  filter?: FilterVerdict | null;
}

/** A message that could not be read from the source (RETR refused or unreadable), counted across passes. */
export interface ReadFailure {
  mailbox: string;
  uid: string;
  size: number;
  error: string;
  at: number;
}

export interface NewMessage {
  mailbox: string;
  uid: string;
  /** null for a message recorded without its bytes (too large to fetch). */
  spoolKey: string | null;
  size: number;
  sha256: string;
  messageId: string | null;
  sender: string;
  subject: string | null;
  recipients: RecipientRecord[];
  fetchedAt: number;
  /** Duplicate suppression: recorded with each pending recipient in the same transaction. */
  fingerprint?: string;
  /**
   * With a fingerprint: the start of the duplicate window the routing checked. A copy recorded since
   * then for a pending recipient (by another writer, after that check) refuses the record with
   * DuplicateRaceError, in the same transaction as the insert.
   */
  duplicateSince?: number;
  explanation?: string[];
  sourceSize?: number;
  headerDigest?: string;
  /** IMAP INTERNALDATE, epoch ms. */
  sourceDate?: number;
}

/** The bytes of a message recorded without them (released after quarantine unfetched), now spooled. */
export interface FetchedBytes {
  spoolKey: string;
  size: number;
  sha256: string;
  headerDigest: string;
  messageId: string | null;
  sender: string;
  subject: string | null;
  fetchedAt: number;
}

/** An earlier copy of a message for one recipient (duplicate suppression). */
export interface SeenCopy {
  recipient: string;
  mailbox: string;
  uid: string;
  messageId: number;
  at: number;
}

/** One delivery attempt, kept for the message log. */
export interface AttemptRecord {
  at: number;
  /** Short outcome: 'delivered', 'deferred', 'quarantined', 'target-refused', … */
  outcome: string;
  detail: string;
  recipients: Array<{ address: string; reply?: StoredReply }>;
}

/** The result of an attempt, applied atomically with the attempt's log entry. */
export interface AttemptUpdate {
  state: MessageState;
  recipients: RecipientRecord[];
  nextAttemptAt: number | null;
  reason: string | null;
  spoolKey: string | null;
  /** Whether this counts as an attempt (a target that refuses the connector itself does not). */
  countsAsAttempt: boolean;
  /**
   * The state the caller read the record in (see lifecycle.ts): the update applies only if the record
   * is still in it, else it fails with StoreConflictError. Omitted: the state the store reads first.
   */
  expect?: MessageState;
}

export interface SessionRecord {
  mailbox: string;
  startedAt: number;
  endedAt: number;
  listed: number;
  fetched: number;
  delivered: number;
  deferred: number;
  quarantined: number;
  removed: number;
  bytes: number;
  error: string | null;
}

/** A search of the message log (web page, API); filters combine, text ones match anywhere. */
export interface MessageQuery {
  mailbox?: string;
  states?: MessageState[];
  sender?: string;
  recipient?: string;
  subject?: string;
  messageId?: string;
  /** Matches sender, recipients, subject or Message-ID. */
  text?: string;
  /** fetchedAt from (inclusive) / until (exclusive), epoch ms. */
  since?: number;
  until?: number;
  limit?: number;
  offset?: number;
}

export interface StoredSession extends SessionRecord {
  id: number;
}

export interface ActivityBucket {
  start: number;
  fetched: number;
  delivered: number;
}

export interface Store {
  /** Creates or upgrades the schema. Called once on start. */
  migrate(): Promise<void>;
  /**
   * A mailbox's records whose uid still designates a message at the source, plus detached ones still
   * waiting for delivery (their bytes are in the spool), oldest first.
   */
  messagesOf(mailbox: string): Promise<MessageRecord[]>;
  get(id: number): Promise<MessageRecord | undefined>;
  /** Records a freshly spooled message; must be durable when it resolves. */
  addSpooled(message: NewMessage): Promise<MessageRecord>;
  /** Applies one delivery attempt's result and logs it, in one transaction. */
  recordAttempt(id: number, update: AttemptUpdate, attempt: AttemptRecord): Promise<MessageRecord>;
  attemptsOf(id: number): Promise<AttemptRecord[]>;
  /** Marks messages as removed at the source, after the provider confirmed (QUIT). */
  markSourceRemoved(ids: number[], at: number): Promise<void>;
  /**
   * Detaches records from their uid: the server no longer lists them, or now uses the uid for another
   * message. They stay in the log (and in delivery, if pending) but never match a listing again.
   */
  detach(ids: number[], at: number): Promise<void>;
  /**
   * Gives records a new source uid: the same messages, recognised under a new IMAP UIDVALIDITY
   * (folder recreated, server migrated), so they are neither fetched nor delivered again.
   */
  reassignUids(changes: Array<{ id: number; uid: string }>): Promise<void>;
  /** Counts one more failed read of a message (RETR refused, unreadable); returns the count so far. */
  noteReadFailure(failure: ReadFailure): Promise<number>;
  /** Gives a record kept without its bytes (quarantined unfetched, then released) its spooled bytes. */
  attachBytes(id: number, bytes: FetchedBytes): Promise<MessageRecord>;
  /**
   * Stores the filter's verdict and the recipients it leaves (spam redirected to a junk address), before
   * delivery, so a retry does not scan again and delivery applies the same header edits.
   */
  recordFilter(id: number, verdict: FilterVerdict, recipients: RecipientRecord[]): Promise<MessageRecord>;
  /** Drops a record whose spool file was lost, so the message is fetched again from the provider. */
  discard(id: number): Promise<void>;
  /** Earlier copies of a message (by fingerprint) for these recipients since `since`, by recipient. */
  seenCopies(fingerprint: string, recipients: string[], since: number): Promise<Map<string, SeenCopy>>;
  /** Messages still to deliver (spooled or deferred), optionally for one mailbox. */
  pending(mailbox?: string): Promise<MessageRecord[]>;
  /** Every spool key the store still refers to, so the spool can sweep orphans after a crash. */
  spoolKeys(): Promise<Set<string>>;
  recordSession(session: SessionRecord): Promise<void>;
  /** The message log, newest first, one page of it and the total that matched. */
  searchMessages(query: MessageQuery): Promise<{ total: number; messages: MessageRecord[] }>;
  /** A mailbox's most recent sessions, newest first. */
  sessionsOf(mailbox: string, limit: number): Promise<StoredSession[]>;
  /** Messages fetched and delivered per bucket of `bucketMs`, `count` buckets from `since`. */
  activity(since: number, bucketMs: number, count: number): Promise<ActivityBucket[]>;
  /** Messages fetched per mailbox since `since`. */
  fetchedSince(since: number): Promise<Map<string, number>>;
  counts(): Promise<Record<MessageState, number>>;
  /**
   * Makes every commit so far durable against a power cut (commits are already safe against a process
   * crash). Called before anything is deleted at the provider.
   */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The read-only queries of the web page, the API and the CLI: a reader never changes a record, so it
 * may be served by any instance or a replica.
 */
export type StoreReader = Pick<
  Store,
  | 'get'
  | 'attemptsOf'
  | 'messagesOf'
  | 'pending'
  | 'searchMessages'
  | 'sessionsOf'
  | 'activity'
  | 'fetchedSince'
  | 'counts'
  | 'close'
>;

/**
 * The write path a mailbox pass needs (it also reads: messagesOf, pending, seenCopies). Everything that
 * is not a pure read belongs here; a new method of Store is a writer's until listed in StoreReader.
 */
export type StoreWriter = Omit<Store, Exclude<keyof StoreReader, 'get' | 'messagesOf' | 'pending' | 'close'>>;
