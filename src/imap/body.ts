// One message's bytes as a stream of FETCH BODY.PEEK[]<offset.length> windows: PEEK never sets \Seen,
// each window is asked for only when the reader wants more (backpressure), so memory stays one window
// whatever the message's size. The listed RFC822.SIZE is checked: a message that ends short or runs
// long errors instead of passing for whole.
import { Readable } from 'node:stream';
import type { ImapFlow } from 'imapflow';
import { PostboteError } from '../errors.js';
import { FETCH_CHUNK } from './options.js';

export interface BodyTarget {
  uid: number;
  size: number;
  where: string;
  /** Selects the message's folder (and checks its UIDVALIDITY) before each window. */
  ready(): Promise<void>;
  /** Called when the stream failed without a server reply: the session cannot be trusted any more. */
  broken(): void;
  /** The session's view of a failure (it knows why the connection went, when it did). */
  explain(err: unknown, command: string): PostboteError;
  /** ms for the whole message; the stream errors with TIMEOUT after it. */
  deadline: number;
}

export function messageStream(client: ImapFlow, t: BodyTarget, chunk = FETCH_CHUNK): Readable {
  let offset = 0;
  let busy = false;
  let timer: NodeJS.Timeout | undefined;
  const stream: Readable = new Readable({
    highWaterMark: chunk,
    read() {
      if (busy) return;
      busy = true;
      timer ??= setTimeout(() => {
        t.broken();
        stream.destroy(
          new PostboteError(
            'TIMEOUT',
            `message UID ${t.uid} not received within ${Math.round(t.deadline / 1000)} s`,
            {
              temporary: true,
              where: t.where,
              hint: 'the server sends too slowly: raise timeouts.message, or check the line',
            },
          ),
        );
      }, t.deadline);
      next()
        .catch((err) => {
          const e = t.explain(err, `UID FETCH ${t.uid} BODY.PEEK[]`);
          if (e.reply === undefined) t.broken();
          stream.destroy(e);
        })
        .finally(() => {
          busy = false;
        });
    },
    destroy(err, cb) {
      clearTimeout(timer);
      cb(err);
    },
  });
  const changed = (why: string) =>
    new PostboteError('IMAP_CHANGED', `message UID ${t.uid}: ${why}`, {
      temporary: true,
      where: t.where,
      // A reply is what tells the pass the session is still fine: nothing is out of step.
      reply: { code: 'NO', text: why },
    });
  async function next(): Promise<void> {
    await t.ready();
    const r = await client.fetchOne(
      String(t.uid),
      { source: { start: offset, maxLength: chunk } },
      { uid: true },
    );
    if (stream.destroyed) return;
    if (r === false) throw changed('no longer on the server');
    const data = r.source ?? Buffer.alloc(0);
    if (data.length > chunk && offset > 0)
      throw changed(`the server sent ${data.length} bytes for a ${chunk}-byte window`);
    offset += data.length;
    if (offset > t.size) throw changed(`more than the ${t.size} bytes listed (RFC822.SIZE)`);
    if (data.length > 0) stream.push(data);
    // A short window is the end (a server that ignored the range sent the whole message at once); a
    // message of exactly n windows costs one more, empty, answer, so a longer one cannot pass as whole.
    if (data.length !== chunk) {
      if (offset < t.size) throw changed(`ended after ${offset} of ${t.size} listed bytes`);
      clearTimeout(timer);
      stream.push(null);
    }
  }
  return stream;
}
