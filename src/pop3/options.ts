// Options of the POP3 client and their defaults: one place that says how long we wait and how much we take.
import type { Logger } from '../log.js';

export type Pop3Tls = 'none' | 'starttls' | 'tls';
/** xoauth2: `password` is an OAuth2 access token (never chosen by 'auto'). */
export type Pop3AuthMethod = 'auto' | 'user' | 'apop' | 'plain' | 'login' | 'xoauth2';

export interface Pop3Timeouts {
  /** TCP connect plus, for implicit TLS, the handshake. */
  connect?: number;
  greeting?: number;
  /** Until the status line of a reply has arrived. */
  command?: number;
  /** Longest silence in the middle of a multi-line body. */
  idle?: number;
  /**
   * Per-message deadline: RETR must complete within this plus one second per MIN_TRANSFER_RATE
   * octets of the listed (or received, if more) size. Time the reader holds the stream back is not counted.
   */
  message?: number;
}

export interface Pop3Options {
  host: string;
  port: number;
  /** starttls: STLS is required, credentials are never sent in clear; tls: implicit TLS (POP3S, 995). */
  tls: Pop3Tls;
  /** Verify the server certificate (default true). */
  tlsVerify?: boolean;
  /** Extra CA certificate(s) in PEM, for a provider with a self-signed or private CA. */
  ca?: string | Buffer;
  /** Name to verify the certificate against (default: host, unless host is an IP literal). */
  servername?: string;
  user: string;
  password: string;
  auth?: Pop3AuthMethod;
  timeouts?: Pop3Timeouts;
  /** Longest single line we buffer (status lines, CAPA/LIST/UIDL/TOP lines). */
  maxLineLength?: number;
  /** Largest message RETR may deliver; larger ones make the stream fail with MESSAGE_TOO_LARGE. */
  maxMessageSize?: number;
  logger?: Logger;
  localAddress?: string;
  /**
   * false: one command at a time even when CAPA offers PIPELINING (after a POP3_DESYNC, to find the
   * message that broke the pipeline). Default: pipeline when the server offers it.
   */
  pipelining?: boolean;
  /**
   * The caller's first command will be list(): with PIPELINING, UIDL and LIST are sent with the CAPA
   * after login, saving a round trip per poll. Off by default, for callers that only retrieve or check.
   */
  listOnLogin?: boolean;
}

export const DEFAULT_TIMEOUTS: Required<Pop3Timeouts> = {
  connect: 15_000,
  greeting: 30_000,
  command: 60_000,
  idle: 60_000,
  message: 60_000,
};

// The slowest transfer we wait for: 10 KB/s is a modem-era rate, far below any provider today, so a
// server slower than that is stuck or trickling on purpose. A reply's deadline grows by one second
// per this many octets (Postfix's smtp_min_data_rate idea), so large messages still get their time.
export const MIN_TRANSFER_RATE = 10 * 1024;

// A million messages is far beyond any real mailbox (providers cap them well below), and still bounds
// what a listing may make us hold: an endless UIDL fails here instead of exhausting memory.
export const MAX_LISTING_ENTRIES = 1_000_000;
// The longest valid listing line: a 10-digit message number, a space, a 70-octet UID (RFC 1939 §7)
// and CRLF is 83 octets; the byte cap lets every entry have that, about 84 MB in all.
export const MAX_LISTING_LINE = 84;
export const MAX_LISTING_BYTES = MAX_LISTING_ENTRIES * MAX_LISTING_LINE;

// RFC 2449 caps status lines at 512 octets, but TOP returns message lines, and real mail carries
// unwrapped lines of hundreds of kilobytes (HTML, base64 without breaks). 1 MiB takes those and
// still bounds what one connection can make us buffer.
export const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;

// No cap unless configured: RETR streams to the spool without holding the message in memory.
export const DEFAULT_MAX_MESSAGE_SIZE = Number.POSITIVE_INFINITY;

// TOP is buffered in memory: headers are rarely above 100 KB; 8 MiB leaves room for a server that
// ignores the line count (or a huge header block) without letting it exhaust memory.
export const MAX_TOP_BYTES = 8 * 1024 * 1024;

// DELEs written per batch when pipelining: large enough to cost one round trip per few hundred
// messages, small enough that neither side's socket buffers fill with unread replies.
export const PIPELINE_BATCH = 200;

/** How errors name the place: 'pop3 pop.example.com:995'. */
export function pop3Where(options: Pick<Pop3Options, 'host' | 'port'>): string {
  return `pop3 ${options.host}:${options.port}`;
}
