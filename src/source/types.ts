// The contract between the connector and a provider mailbox, implemented by POP3 (src/pop3) and IMAP (src/imap).
import type { Readable } from 'node:stream';

export type SourceProtocol = 'pop3' | 'imap';

/** One message as the server lists it. `uid` is stable across sessions (POP3 UIDL, IMAP UIDVALIDITY:UID). */
export interface SourceMessage {
  uid: string;
  /** Session-local handle: the POP3 message number or the IMAP sequence number. */
  num: number;
  /** Size in octets as the server reports it (POP3 LIST counts CRLF; may differ from the bytes received). */
  size: number;
  /**
   * What the server tells without a fetch (IMAP ENVELOPE, INTERNALDATE): lets a message be recognised
   * after its uid changed (a new UIDVALIDITY). Message-ID without angle brackets; date in epoch ms.
   */
  messageId?: string;
  internalDate?: number;
}

/** A listing line the session could not trust, left alone (never fetched, never deleted) and reported. */
export interface RefusedEntry {
  /** The server's line as received (or the message number and value, for entries missing in one listing). */
  line: string;
  why: string;
}

export interface SourceListing {
  /** In the server's order (POP3: message number). A uid may appear more than once: servers are not perfect. */
  messages: SourceMessage[];
  refused: RefusedEntry[];
}

/** What delete() could not mark: the rest were marked and are committed by close(). */
export interface RefusedDeletion {
  message: SourceMessage;
  error: Error;
  /**
   * Marked but deliberately not removed yet (IMAP without UIDPLUS while others' messages are flagged
   * \Deleted: a plain EXPUNGE would remove theirs too). Not a failure: the next pass tries again.
   */
  deferred?: boolean;
}

/** What a server asks of its clients (POP3 CAPA, RFC 2449), as far as it said. */
export interface SourcePolicy {
  /** LOGIN-DELAY: minimum seconds between logins; the scheduler does not log in more often. */
  loginDelay?: number;
  /** EXPIRE: days a retrieved message stays on the server; 0 means it goes whatever the client does. */
  expire?: number | 'never';
}

export interface SourceSession {
  readonly protocol: SourceProtocol;
  /** Read once the session is open; absent when the server announced nothing. */
  readonly policy?: SourcePolicy;
  /** Host name of the provider server, for the Received header and messages. */
  readonly server: string;
  /** Whether the session runs over TLS (implicit or STLS/STARTTLS), for the Received header's `with`. */
  readonly secure: boolean;
  /** Lists the messages in the mailbox with their stable ids, and the entries it could not trust. */
  list(): Promise<SourceListing>;
  /**
   * Streams one message exactly as stored (transparency dot-unstuffed, CRLF as sent).
   * The stream must be consumed to its end or destroyed before the next call on the session;
   * it errors with a PostboteError when the connection drops or stalls, and never ends early silently.
   */
  retrieve(message: SourceMessage): Readable;
  /** Whether several commands may be in flight at once (POP3 PIPELINING), so retrieveMany can batch. */
  readonly pipelining: boolean;
  /**
   * Requests several messages at once (one write, one round trip) and returns their streams in order;
   * each fills only after the one before it has ended. Only with `pipelining`. A stream not wanted
   * after all must be destroyed, so the session can skip its bytes and go on.
   */
  retrieveMany(messages: SourceMessage[]): Readable[];
  /** The header block plus `lines` body lines (POP3 TOP), buffered: headers are small and capped. */
  top(message: SourceMessage, lines: number): Promise<Buffer>;
  /**
   * Marks messages for deletion; POP3 commits them only at close(). Pipelined where the server allows.
   * A message the server refuses to mark is returned, not thrown: the others still go at close().
   * Rejects only when the session itself failed (connection lost).
   */
  delete(messages: SourceMessage[]): Promise<RefusedDeletion[]>;
  /**
   * Optional: marks delivered messages that stay on the server (keep mode) as read, IMAP \Seen.
   * Returns what the server refused; a source without read flags (POP3) leaves it out.
   */
  markKept?(messages: SourceMessage[]): Promise<RefusedDeletion[]>;
  /** Commits deletions (POP3 QUIT) and closes. */
  close(): Promise<void>;
  /** Drops the connection without committing anything (deletions stay undone). */
  abort(): void;
}
