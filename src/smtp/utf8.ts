// Whether a message needs SMTPUTF8 (RFC 6531): UTF-8 in its addresses or 8-bit bytes in its header
// block (RFC 6532 internationalized headers). Pure, so it is table-tested.
import type { Readable } from 'node:stream';

// RFC 5322 §2.1.1 bounds a line to 998 octets, but header blocks of real mail run to hundreds of
// kilobytes (long References, DKIM chains); 1 MiB takes them and bounds what one look may read.
export const MAX_HEADER_SCAN = 1024 * 1024;

/**
 * True when the header block (up to the first empty line, or all of `head` if none is there) holds a
 * byte above 0x7F. Only the headers count: an 8-bit body needs 8BITMIME, not SMTPUTF8.
 */
export function headersAre8Bit(head: Buffer): boolean {
  const end = headerEnd(head);
  for (let i = 0; i < end; i++) if (head[i]! > 0x7f) return true;
  return false;
}

function headerEnd(buf: Buffer): number {
  // An empty first line means no headers at all.
  if (buf[0] === 0x0a || (buf[0] === 0x0d && buf[1] === 0x0a)) return 0;
  for (let i = buf.indexOf(0x0a); i >= 0 && i < buf.length - 1; i = buf.indexOf(0x0a, i + 1)) {
    if (buf[i + 1] === 0x0a || (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a)) return i + 1;
  }
  return buf.length;
}

/**
 * Reads the header block of a message stream (at most MAX_HEADER_SCAN octets) and closes it. The loop
 * leaves the stream to us (destroyOnReturn: false) and it is destroyed without an error: an early
 * return would otherwise destroy it with an AbortError, whose stack trace cost more than the scan.
 */
export async function messageHeadersAre8Bit(body: Readable): Promise<boolean> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      // Most header blocks end in the first chunk: no copy then.
      const head = chunks.length === 1 ? chunk : Buffer.concat(chunks);
      if (headerEnd(head) < head.length || size >= MAX_HEADER_SCAN) {
        return headersAre8Bit(head.subarray(0, MAX_HEADER_SCAN));
      }
    }
    return headersAre8Bit(Buffer.concat(chunks));
  } finally {
    body.destroy();
  }
}
