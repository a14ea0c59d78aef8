// Undoes POP3 byte-stuffing (RFC 1939 §3) and finds the ".CRLF" terminator of a multi-line response.
// Lines start only after CRLF: a bare LF inside a message is data, as servers stuff after CRLF only.
import { Transform, type TransformCallback } from 'node:stream';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF_DOT = Buffer.from('\r\n.');
const CR_ONLY = Buffer.from('\r');

/** Where the scanner stands between chunks: inside a line, after a CR, or at a line start ('.'?). */
type ScanState = 'data' | 'cr' | 'line-start' | 'dot' | 'dot-cr';

export interface UnstuffResult {
  /** Unstuffed message bytes from this chunk (slices of it where possible, no copies). */
  out: Buffer[];
  /** True once the terminating ".CRLF" was seen. */
  done: boolean;
  /** Bytes after the terminator: they belong to the next reply. */
  rest?: Buffer;
}

/**
 * A push parser: feed it the data after a "+OK" line, chunk by chunk. The message is every line up to
 * the terminator, each with its CRLF; a first '.' on a line is dropped. Stateful across chunks so a
 * "\r\n." or "\r\n.\r\n" split at any position is handled.
 */
export class DotUnstuffer {
  private state: ScanState = 'line-start';
  private finished = false;

  get done(): boolean {
    return this.finished;
  }

  push(chunk: Buffer): UnstuffResult {
    if (this.finished) return { out: [], done: true, rest: chunk };
    const out: Buffer[] = [];
    let segStart = 0;
    let i = 0;
    const emit = (end: number) => {
      if (end > segStart) out.push(chunk.subarray(segStart, end));
    };
    while (i < chunk.length) {
      const b = chunk[i]!;
      switch (this.state) {
        case 'data': {
          // Fast path: only a line that starts with a dot needs work, so jump to the next "\r\n."
          // (one search per such line or chunk, not one per line: most mail has no dotted line).
          const p = chunk.indexOf(CRLF_DOT, i);
          if (p >= 0) {
            i = p + 2;
            this.state = 'line-start';
            continue;
          }
          // None in the rest of the chunk: only how it ends matters for the next one. The byte
          // before `i` is never an unpaired CR here (that is state 'cr'), so CRLF is whole in this chunk.
          const n = chunk.length;
          if (chunk[n - 1] === CR) this.state = 'cr';
          else if (chunk[n - 1] === LF && chunk[n - 2] === CR) this.state = 'line-start';
          i = n;
          continue;
        }
        case 'cr':
          this.state = b === LF ? 'line-start' : b === CR ? 'cr' : 'data';
          i++;
          continue;
        case 'line-start':
          if (b === DOT) {
            emit(i); // the dot is withheld: either stuffing or the terminator
            segStart = i + 1;
            this.state = 'dot';
            i++;
          } else {
            this.state = 'data';
          }
          continue;
        case 'dot':
          if (b === CR) {
            segStart = i + 1; // withhold the CR too until we know whether LF follows
            this.state = 'dot-cr';
            i++;
          } else {
            this.state = 'data'; // stuffed line: the dot is dropped, this byte is data
          }
          continue;
        case 'dot-cr':
          if (b === LF) {
            this.finished = true;
            const rest = chunk.subarray(i + 1);
            return rest.length > 0 ? { out, done: true, rest } : { out, done: true };
          }
          // ".\r" + something: the withheld CR was data after a dropped dot. If it came in this
          // chunk, take it back into the segment; if in the previous one, emit it on its own.
          if (i === 0) out.push(CR_ONLY);
          else segStart = i - 1;
          this.state = 'cr';
          continue;
      }
    }
    // A dot or CR withheld at the end of this chunk stays withheld: segStart is already past it.
    emit(chunk.length);
    return { out, done: false };
  }
}

/**
 * The same as a Transform: writes raw multi-line data, reads the message. Bytes after the terminator
 * are kept in `trailing`; ending the input before the terminator is an error (a truncated message).
 */
export class DotUnstuffStream extends Transform {
  private readonly scanner = new DotUnstuffer();
  trailing: Buffer = Buffer.alloc(0);

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const r = this.scanner.push(chunk);
    for (const part of r.out) this.push(part);
    if (r.rest) this.trailing = Buffer.concat([this.trailing, r.rest]);
    cb();
  }

  override _flush(cb: TransformCallback): void {
    cb(this.scanner.done ? null : new Error('multi-line response ended without its terminator'));
  }
}
