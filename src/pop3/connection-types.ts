// What Pop3Connection works with: a command as its caller gives it (CommandSpec, with a BodySink for a
// multi-line reply), the entry it keeps while the command is in flight (Pending), and its options.
import type { PostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import type { BodyWatch } from './body-watch.js';
import type { DotUnstuffer } from './dot-unstuff.js';
import type { Pop3Reply } from './reply.js';

/** Receives a multi-line body after "+OK". 'pause' stops reading until resume(); 'discard' drops the rest. */
export interface BodySink {
  write(chunk: Buffer): 'more' | 'pause' | 'discard';
  end(): void;
  fail(err: PostboteError): void;
}

export interface CommandSpec {
  /** The command line without CRLF; absent for the greeting, which is a reply to connecting. */
  line?: string;
  /** How the command appears in logs and errors (secrets masked). */
  display?: string;
  /** Present when +OK starts a multi-line body: the body goes there. */
  body?: BodySink;
  /** Milliseconds until the status line must have arrived. */
  timeout: number;
  /**
   * Milliseconds the whole reply (status and body) may take from when it is next in line, plus one
   * second per `minRate` octets of body (or of `expectedSize`, if more). Default: `timeout`.
   */
  deadline?: number;
  /** The size LIST gave for a RETR: the body is watched for running past it (see body-watch.ts). */
  expectedSize?: number;
}

export interface Pending extends CommandSpec {
  phase: 'status' | 'body';
  unstuffer?: DotUnstuffer;
  watch?: BodyWatch;
  discarding: boolean;
  /** Written while earlier commands were unanswered: its reply may be mistaken for theirs. */
  pipelined: boolean;
  /** Body octets taken by the sink (discarded ones do not extend the deadline). */
  accepted: number;
  /** Milliseconds counted against the deadline so far, and since when the clock runs (unpaused). */
  spent: number;
  since?: number;
  statusBy?: number;
  resolve(reply: Pop3Reply): void;
  reject(err: PostboteError): void;
}

export interface ConnectionOptions {
  where: string;
  logger: Logger;
  maxLineLength: number;
  /** Longest silence allowed while a body is streaming and we are not the ones holding it back. */
  idleTimeout: number;
  /** Octets per second a reply's deadline grants beyond its base (MIN_TRANSFER_RATE). */
  minRate: number;
}

/** The command as logs and errors name it. */
export function describe(p: Pending): string {
  return p.display ?? p.line ?? 'the greeting';
}
