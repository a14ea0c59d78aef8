// SMTP DATA transparency (RFC 5321 4.5.2): doubles a leading '.', turns bare LF and
// bare CR into CRLF (RFC 5321 2.3.8 forbids them), and ends the data with CRLF '.' CRLF; DotStuffer pipes it.
import { Transform, type TransformCallback } from 'node:stream';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const DOT_BUF = Buffer.from('.');
const CR_BUF = Buffer.from('\r');
const LF_BUF = Buffer.from('\n');

/**
 * Works on whole chunks with Buffer.indexOf, so a CRLF message without leading dots passes through
 * as the same Buffer objects (no copy); only lines that need a change split the chunk. Plain calls,
 * no stream: the SMTP client drives it from its own loop.
 */
export class DotStuffing {
  /** The next byte starts a line (also true before any byte: an empty body is just ".\r\n"). */
  private atLineStart = true;
  /** The previous chunk ended with a CR, already written; whether an LF follows is not known yet. */
  private pendingCR = false;

  /** What ends the data: the missing line end, if any, and the final dot line. */
  end(): Buffer {
    let tail: string;
    if (this.pendingCR) tail = '\n.\r\n';
    else if (this.atLineStart) tail = '.\r\n';
    else tail = '\r\n.\r\n';
    return Buffer.from(tail, 'latin1');
  }

  /** The chunk with transparency applied: the same Buffer when nothing needs a change. */
  stuff(chunk: Buffer): Buffer {
    const len = chunk.length;
    const parts: Buffer[] = [];
    let segStart = 0;
    let pos = 0;
    if (this.pendingCR) {
      this.pendingCR = false;
      this.atLineStart = true;
      if (chunk[0] === LF) pos = 1;
      else parts.push(LF_BUF);
    }
    // Positions of the next CR and LF at or after `pos`, cached so each is searched once per use.
    let cr = -2;
    let lf = -2;
    while (pos < len) {
      if (this.atLineStart) {
        this.atLineStart = false;
        if (chunk[pos] === DOT) {
          if (pos > segStart) parts.push(chunk.subarray(segStart, pos));
          parts.push(DOT_BUF);
          segStart = pos;
        }
      }
      if (cr !== -1 && cr < pos) cr = chunk.indexOf(CR, pos);
      if (lf !== -1 && lf < pos) lf = chunk.indexOf(LF, pos);
      const next = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (next === -1) break;
      this.atLineStart = true;
      if (next === lf) {
        // A bare LF: a CR right before it would have been taken together with it below.
        if (next > segStart) parts.push(chunk.subarray(segStart, next));
        parts.push(CR_BUF);
        segStart = next;
        pos = next + 1;
      } else if (next + 1 === len) {
        this.atLineStart = false;
        this.pendingCR = true;
        pos = len;
      } else if (chunk[next + 1] === LF) {
        pos = next + 2;
      } else {
        // A bare CR.
        parts.push(chunk.subarray(segStart, next + 1));
        parts.push(LF_BUF);
        segStart = next + 1;
        pos = next + 1;
      }
    }
    if (segStart === 0 && parts.length === 0) return chunk;
    if (segStart < len) parts.push(chunk.subarray(segStart));
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

/** The same as a Transform, for piping. */
export class DotStuffer extends Transform {
  private readonly core = new DotStuffing();

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length > 0) this.push(this.core.stuff(chunk));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.push(this.core.end());
    callback();
  }
}
