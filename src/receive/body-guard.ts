// Decouples smtp-server's DATA stream from whoever consumes the message: the consumer gets its own
// stream (trace header first, then the body) that fails once the size limit is passed, while the
// client's data is always read to its end so the session can answer and carry on.
import { PassThrough, type Readable } from 'node:stream';
import { PostboteError } from '../errors.js';

export interface GuardedBody {
  /** What the consumer reads: `prefix`, then the message; destroyed with MESSAGE_TOO_LARGE past the limit. */
  body: Readable;
  /** Resolves when the client's data has been read to its end. */
  done: Promise<{ bytes: number; exceeded: boolean }>;
}

export function guardBody(source: Readable, maxBytes: number, prefix?: Buffer): GuardedBody {
  const body = new PassThrough();
  // The consumer sees a failure through its own read; one that has not started reading yet (it is
  // still creating folders or connecting) must not turn it into an uncaught 'error' event.
  body.on('error', () => {});
  let bytes = 0;
  let exceeded = false;
  // Once the consumer is gone (it failed, or the limit was hit) the rest of the data is only drained.
  let discarding = false;
  body.on('close', () => {
    discarding = true;
    source.resume();
  });
  body.on('drain', () => source.resume());
  if (prefix) body.write(prefix);

  const done = new Promise<{ bytes: number; exceeded: boolean }>((resolve, reject) => {
    source.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (discarding) return;
      if (bytes > maxBytes) {
        exceeded = true;
        discarding = true;
        body.destroy(
          new PostboteError('MESSAGE_TOO_LARGE', `message over the ${maxBytes}-byte limit`, {
            temporary: false,
          }),
        );
        return;
      }
      if (!body.write(chunk)) source.pause();
    });
    source.once('end', () => {
      if (!discarding) body.end();
      resolve({ bytes, exceeded });
    });
    source.once('error', (err) => {
      body.destroy(err);
      reject(err);
    });
  });
  // The consumer may already have failed; its error is what the caller reports, not this one.
  done.catch(() => {});
  return { body, done };
}
