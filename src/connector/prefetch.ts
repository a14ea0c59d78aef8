// Fetching ahead: while one message is spooled and delivered, the next ones are already requested
// (POP3 PIPELINING), so the provider's round trip and a write are paid once per window of messages
// instead of once per message. The window is small and bounded in bytes: what is requested but not
// yet read waits in the socket's buffers (the connection stops reading when a stream is full), and a
// pass that stops early only has to skip that much.
import type { Readable } from 'node:stream';
import type { SourceMessage, SourceSession } from '../source/types.js';

export interface PrefetchLimits {
  /** Messages requested ahead at most. */
  messages: number;
  /** Their sizes as listed, at most (a larger message is requested alone). */
  bytes: number;
}

export const PREFETCH_LIMITS: PrefetchLimits = { messages: 32, bytes: 1024 * 1024 };

export interface Fetched {
  msg: SourceMessage;
  /** Absent for a message that is not to be fetched (`wanted` said no). */
  stream?: Readable;
}

/**
 * Yields each message with its stream, in order, requesting the next window when only one requested
 * message is left unread. Streams requested but never yielded are destroyed when the loop ends early.
 */
export function* prefetched(
  session: Pick<SourceSession, 'pipelining' | 'retrieve' | 'retrieveMany'>,
  messages: readonly SourceMessage[],
  wanted: (msg: SourceMessage) => boolean,
  limits: PrefetchLimits = PREFETCH_LIMITS,
): Generator<Fetched> {
  const window: Fetched[] = [];
  let next = 0;
  const refill = () => {
    const batch: SourceMessage[] = [];
    let bytes = window.reduce((n, f) => n + (f.stream ? f.msg.size : 0), 0);
    const room = session.pipelining ? limits.messages : 1;
    while (next < messages.length && window.length + batch.length < room) {
      const msg = messages[next]!;
      if (!wanted(msg)) {
        if (batch.length > 0) break; // keep the order: what was requested comes first
        window.push({ msg });
        next++;
        continue;
      }
      if (batch.length + window.length > 0 && bytes + msg.size > limits.bytes) break;
      batch.push(msg);
      bytes += msg.size;
      next++;
    }
    if (batch.length === 0) return;
    const streams = batch.length === 1 ? [session.retrieve(batch[0]!)] : session.retrieveMany(batch);
    batch.forEach((msg, i) => {
      const stream = streams[i]!;
      // An error before the stream is read (the server refused this RETR, or the connection dropped)
      // is kept on the stream and thrown to its reader; unheard, it must not crash the process.
      stream.on('error', () => undefined);
      window.push({ msg, stream });
    });
  };
  try {
    while (window.length > 0 || next < messages.length) {
      if (window.length <= 1) refill();
      const head = window.shift();
      if (!head) break;
      yield head;
    }
  } finally {
    for (const f of window.splice(0)) f.stream?.destroy();
  }
}
