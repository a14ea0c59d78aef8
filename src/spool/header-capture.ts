// Collects a message's header block (up to the blank line) from a stream of chunks, with a cap,
// so routing and the envelope sender can be decided without holding the body.

/** Headers beyond this are not needed for routing; caps memory for hostile messages with huge headers. */
export const MAX_HEADER_BYTES = 256 * 1024;

export class HeaderCapture {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private end = -1;

  get done(): boolean {
    return this.end >= 0 || this.length >= MAX_HEADER_BYTES;
  }

  push(chunk: Buffer): void {
    if (this.done) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
    const all = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks);
    if (this.chunks.length > 1) this.chunks.splice(0, this.chunks.length, all);
    const end = findHeaderEnd(all);
    if (end >= 0) this.end = end;
  }

  /** The header block including its terminating blank line, or what was seen up to the cap. */
  header(): Buffer {
    // push() keeps the chunks merged into one: a view of it, not a copy per message.
    const all = this.chunks[0] ?? Buffer.alloc(0);
    return all.subarray(0, this.end >= 0 ? this.end : Math.min(all.length, MAX_HEADER_BYTES));
  }
}

/** Offset just past the blank line ending the header block (CRLF or bare LF), or -1. */
export function findHeaderEnd(buf: Buffer): number {
  if (buf[0] === 0x0a) return 1;
  if (buf[0] === 0x0d && buf[1] === 0x0a) return 2;
  let from = 0;
  for (;;) {
    const lf = buf.indexOf(0x0a, from);
    if (lf < 0 || lf + 1 >= buf.length) return -1;
    if (buf[lf + 1] === 0x0a) return lf + 2;
    if (buf[lf + 1] === 0x0d && buf[lf + 2] === 0x0a) return lf + 3;
    if (buf[lf + 1] === 0x0d && lf + 2 >= buf.length) return -1;
    from = lf + 1;
  }
}
