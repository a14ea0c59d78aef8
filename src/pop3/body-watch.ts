// Watches a RETR body for the signs that its end was missed. A message whose last line lacks its CRLF
// makes the server send "text.\r\n" as its end: no terminator for us, so the body runs on into the
// next reply (pipelined) or never ends (one command at a time). Pure: fed chunks, no sockets.

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
/** Enough of a line to tell "+OK" and "-ERR" from message text. */
const STATUS_PREFIX = 4;
const STATUS_LINE = /^(\+OK|-ERR)/i;

export interface StatusLineSeen {
  /** Where the line starts in the body, in octets. */
  offset: number;
  /** Its first octets, e.g. '+OK ' (latin1). */
  text: string;
}

export class BodyWatch {
  private octets = 0;
  private lastByte = LF;
  /** The first octets of the current line, while it started at or after the listed size. */
  private prefix: { offset: number; text: string } | undefined;
  private readonly tail = Buffer.alloc(STATUS_PREFIX);
  private tailLength = 0;

  /** `listed`: the size LIST gave; a line starting at or beyond it cannot belong to the message. */
  constructor(private readonly listed: number) {}

  /** Octets of (unstuffed) body seen so far. */
  get received(): number {
    return this.octets;
  }

  /** Feeds body octets; returns a status line that starts at or after the listed size, if any. */
  push(chunk: Buffer): StatusLineSeen | undefined {
    const start = this.octets;
    this.octets += chunk.length;
    const seen = this.octets > this.listed ? this.scan(chunk, start) : undefined;
    this.keepTail(chunk);
    if (chunk.length > 0) this.lastByte = chunk[chunk.length - 1]!;
    return seen;
  }

  /**
   * Whether what arrived ends like a last line without CRLF: at least the listed size, and the last
   * octets are "X.\r\n" with X not a line end (a terminator would be "\r\n.\r\n").
   */
  missingCrlfAtEnd(): boolean {
    if (this.octets < this.listed || this.tailLength < STATUS_PREFIX) return false;
    const t = this.tail;
    return t[0] !== LF && t[0] !== CR && t[1] === DOT && t[2] === CR && t[3] === LF;
  }

  private scan(chunk: Buffer, start: number): StatusLineSeen | undefined {
    let pos = Math.max(0, this.listed - start);
    if (!this.prefix) {
      const atLineStart = pos === 0 ? this.lastByte === LF : chunk[pos - 1] === LF;
      if (atLineStart) this.prefix = { offset: start + pos, text: '' };
    }
    while (pos < chunk.length) {
      if (this.prefix) {
        const p = this.prefix;
        while (pos < chunk.length && p.text.length < STATUS_PREFIX && chunk[pos] !== LF) {
          p.text += String.fromCharCode(chunk[pos++]!);
        }
        const lineDone = p.text.length >= STATUS_PREFIX || pos < chunk.length;
        if (!lineDone) return undefined; // the line goes on in the next chunk
        this.prefix = undefined;
        if (STATUS_LINE.test(p.text)) return p;
      }
      const lf = chunk.indexOf(LF, pos);
      if (lf < 0) return undefined;
      pos = lf + 1;
      this.prefix = { offset: start + pos, text: '' };
    }
    return undefined;
  }

  private keepTail(chunk: Buffer): void {
    if (chunk.length >= STATUS_PREFIX) {
      chunk.copy(this.tail, 0, chunk.length - STATUS_PREFIX);
      this.tailLength = STATUS_PREFIX;
      return;
    }
    const keep = Math.min(this.tailLength, STATUS_PREFIX - chunk.length);
    this.tail.copy(this.tail, 0, this.tailLength - keep, this.tailLength);
    chunk.copy(this.tail, keep);
    this.tailLength = keep + chunk.length;
  }
}
