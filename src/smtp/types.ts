// The contract of the SMTP/LMTP delivery client: per-recipient replies, never a guess.
import type { Readable } from 'node:stream';
import type { Logger } from '../log.js';

export interface SmtpReply {
  /** Basic status code, e.g. 250, 451, 550. */
  code: number;
  /** Enhanced status code (RFC 3463) when the server sent one, e.g. '5.1.1'. */
  enhanced?: string;
  /** The text of all reply lines joined by '\n', without code and enhanced code. */
  text: string;
}

export type SmtpTls = 'none' | 'starttls' | 'tls';

export interface SmtpClientOptions {
  host: string;
  port: number;
  /** Speak LMTP (RFC 2033): LHLO, and one final reply per accepted recipient after DATA. */
  lmtp?: boolean;
  tls: SmtpTls;
  /** Verify the server certificate (default true). */
  tlsVerify?: boolean;
  /** Extra CA certificate(s), PEM. */
  ca?: string | Buffer;
  /** Name to verify the certificate against, when it differs from host. */
  servername?: string;
  /** Source address to connect from (the address the receive connector allows). */
  localAddress?: string;
  /** Name for EHLO/LHLO. */
  helo: string;
  auth?: { user: string; pass: string; method?: 'PLAIN' | 'LOGIN' };
  /**
   * Milliseconds. Defaults: connect 15 s, greeting 30 s, command 60 s, data end 10 min (RFC 5321 4.5.3.2).
   * Each is a deadline, not an idle time: a server trickling a reply byte by byte gets no longer.
   * Sending the data may take `command` plus its size at `minDataRate` bytes/s (default 16 KiB/s).
   */
  timeouts?: {
    connect?: number;
    greeting?: number;
    command?: number;
    dataEnd?: number;
    minDataRate?: number;
  };
  logger?: Logger;
}

export interface Envelope {
  /** Reverse path without angle brackets; '' for the null sender. */
  from: string;
  to: string[];
  /** Message size in octets, sent as SIZE= when the server advertises SIZE. */
  size?: number;
  /** Declare BODY=8BITMIME when the server supports it. */
  eightBit?: boolean;
  /** The header block holds UTF-8 (RFC 6532): MAIL FROM needs SMTPUTF8, which the server must offer. */
  utf8?: boolean;
}

/** Where a recipient's final reply came from. */
export type ReplyStage = 'MAIL' | 'RCPT' | 'DATA';

export interface RecipientReply {
  address: string;
  stage: ReplyStage;
  reply: SmtpReply;
}

export interface SendResult {
  /**
   * The final word for each recipient, in envelope order: the RCPT reply when it was refused there,
   * the MAIL reply when the sender was refused, else the reply to the data (per recipient for LMTP).
   * Only a 2xx here means the server took responsibility for the message for that recipient.
   * LMTP only: when the connection breaks after the server answered some recipients' data, the call
   * resolves (those answers may be 250 and must not be delivered again) and each unanswered recipient
   * gets a stand-in `421 4.4.2 [Postbote] no reply for this recipient: …`; the connection is then closed.
   */
  recipients: RecipientReply[];
}

export interface SmtpConnection {
  /** EHLO/LHLO extensions, upper-cased keywords, e.g. 'PIPELINING', 'SIZE', '8BITMIME', 'STARTTLS'. */
  readonly extensions: ReadonlyMap<string, string>;
  readonly secure: boolean;
  /**
   * One transaction. Resolves with per-recipient replies when the server answered (even when it refused);
   * rejects with a temporary PostboteError when the connection broke or timed out mid-transaction, so the
   * caller treats every recipient as not delivered. After a resolved call the connection is ready for the next.
   */
  send(envelope: Envelope, body: Readable): Promise<SendResult>;
  /** RSET; used after a probe (MAIL/RCPT without DATA) by `postbote check`. */
  reset(): Promise<SmtpReply>;
  /** Probes MAIL FROM and RCPT TO without sending data, then RSET. */
  probe(envelope: Envelope): Promise<SendResult>;
  quit(): Promise<void>;
  close(): void;
  readonly closed: boolean;
}
