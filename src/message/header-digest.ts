// A message's header fingerprint: the same stored message gives the same digest whether its header
// block came with RETR (captured while spooling) or with TOP n 0, so a uid the server lists again can be
// checked to still be the message that was fetched under it.
import { createHash } from 'node:crypto';
import { findHeaderEnd, MAX_HEADER_BYTES } from '../spool/header-capture.js';

/**
 * Only the first bytes count: the spool keeps at most MAX_HEADER_BYTES of a header block, so a digest of
 * more could never match. The provider's own trace lines come first, which is what tells two copies apart.
 */
export const HEADER_DIGEST_BYTES = MAX_HEADER_BYTES;

/**
 * SHA-256 of the header block (up to the blank line, at most HEADER_DIGEST_BYTES), with line ends and
 * trailing blanks normalised: some servers send LF in one command and CRLF in the other.
 */
export function headerDigest(block: Buffer): string {
  const end = findHeaderEnd(block);
  const head = block.subarray(0, Math.min(end >= 0 ? end : block.length, HEADER_DIGEST_BYTES));
  const hash = createHash('sha256');
  let from = 0;
  while (from < head.length) {
    let lf = head.indexOf(0x0a, from);
    if (lf < 0) lf = head.length;
    let to = lf;
    while (to > from && (head[to - 1] === 0x0d || head[to - 1] === 0x20 || head[to - 1] === 0x09)) to--;
    if (to > from) {
      hash.update(head.subarray(from, to));
      hash.update('\n');
    }
    from = lf + 1;
  }
  return hash.digest('hex').slice(0, 32);
}
