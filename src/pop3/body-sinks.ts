// Where multi-line bodies go: a Readable for RETR that holds the socket back when its consumer is
// slow, and a size-capped collector for CAPA, UIDL, LIST and TOP.
import { Readable } from 'node:stream';
import type { PostboteError } from '../errors.js';
import type { BodySink } from './connection.js';

/**
 * The message stream handed out by retrieve(). It ends only when the terminator arrived; a drop or
 * stall mid-message destroys it with the connection's error. Destroying it early makes the
 * connection drain and discard the rest, so the session stays usable.
 */
export class MessageStream extends Readable implements BodySink {
  private received = 0;
  private abandoned = false;
  /** Set by the session once the connection is known: asks it to read again. */
  onWanted: () => void = () => {};

  constructor(
    private readonly maxSize: number,
    private readonly tooLarge: (size: number) => PostboteError,
  ) {
    super();
  }

  write(chunk: Buffer): 'more' | 'pause' | 'discard' {
    if (this.abandoned || this.destroyed) return 'discard';
    this.received += chunk.length;
    if (this.received > this.maxSize) {
      this.abandoned = true;
      this.destroy(this.tooLarge(this.received));
      return 'discard';
    }
    return this.push(chunk) ? 'more' : 'pause';
  }

  end(): void {
    if (!this.destroyed) this.push(null);
  }

  fail(err: PostboteError): void {
    if (!this.destroyed) this.destroy(err);
  }

  override _read(): void {
    this.onWanted();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.abandoned = true;
    // Let the connection drain the rest of the body instead of waiting for a reader that is gone.
    this.onWanted();
    cb(err);
  }
}

/** Collects a body in memory up to `maxBytes` total, `maxLine` per line and `maxLines` lines. */
export class BodyCollector implements BodySink {
  private readonly parts: Buffer[] = [];
  private size = 0;
  private lines = 0;
  private lineLength = 0;
  private settle: { resolve(b: Buffer): void; reject(e: PostboteError): void } | undefined;
  private outcome: { body: Buffer } | { error: PostboteError } | undefined;

  constructor(
    private readonly maxBytes: number,
    private readonly maxLine: number,
    private readonly overflow: (what: 'line' | 'body' | 'lines') => PostboteError,
    private readonly maxLines = Number.POSITIVE_INFINITY,
  ) {}

  write(chunk: Buffer): 'more' | 'discard' {
    if (this.outcome) return 'discard';
    this.size += chunk.length;
    const lastLf = chunk.lastIndexOf(0x0a);
    let longest: number;
    if (lastLf < 0) {
      this.lineLength += chunk.length;
      longest = this.lineLength;
    } else {
      longest = longestLine(chunk, lastLf, this.lineLength);
      this.lineLength = chunk.length - lastLf - 1;
      longest = Math.max(longest, this.lineLength);
    }
    if (lastLf >= 0 && this.maxLines !== Number.POSITIVE_INFINITY) this.lines += countLf(chunk, lastLf);
    const over =
      longest > this.maxLine
        ? 'line'
        : this.size > this.maxBytes
          ? 'body'
          : this.lines > this.maxLines
            ? 'lines'
            : undefined;
    if (over) {
      this.finish({ error: this.overflow(over) });
      return 'discard';
    }
    this.parts.push(chunk);
    return 'more';
  }

  end(): void {
    this.finish({ body: Buffer.concat(this.parts) });
  }

  fail(err: PostboteError): void {
    this.finish({ error: err });
  }

  /** Resolves with the whole body once its terminator arrived. */
  result(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
      if (this.outcome) this.finish(this.outcome);
    });
  }

  private finish(outcome: { body: Buffer } | { error: PostboteError }): void {
    this.outcome ??= outcome;
    const o = this.outcome;
    if (!this.settle) return;
    if ('body' in o) this.settle.resolve(o.body);
    else this.settle.reject(o.error);
  }
}

function countLf(chunk: Buffer, lastLf: number): number {
  let n = 0;
  for (let lf = chunk.indexOf(0x0a); lf >= 0 && lf <= lastLf; lf = chunk.indexOf(0x0a, lf + 1)) n++;
  return n;
}

/** Longest complete line within chunk[0..lastLf]; the first one continues a line of `carry` octets. */
function longestLine(chunk: Buffer, lastLf: number, carry: number): number {
  let longest = 0;
  let start = -carry;
  for (let lf = chunk.indexOf(0x0a); lf >= 0 && lf <= lastLf; lf = chunk.indexOf(0x0a, lf + 1)) {
    longest = Math.max(longest, lf - start);
    start = lf + 1;
  }
  return longest;
}
