// The benchmark corpus: deterministic messages (seeded), each tagged with an X-Bench-Id header so the
// sink side can tell which message arrived, and the fingerprint used to check it arrived intact.
import { createHash } from 'node:crypto';
import { makeMessage } from '../test/support/corpus.js';
import { rng } from '../test/support/corpus-body.js';

export interface BenchMessage {
  id: string;
  data: Buffer;
}

/** Share of the mixed corpus that are attachments of 0.2–2 MB ("some"); the rest are 2–50 KB mail. */
const LARGE_SHARE = 0.04;

/** One size drawn log-uniformly from [min, max]: small messages dominate, as in real mailboxes. */
function logUniform(r: () => number, min: number, max: number): number {
  return Math.round(Math.exp(Math.log(min) + r() * (Math.log(max) - Math.log(min))));
}

function tagged(id: string, size: number, seed: number, r: () => number): BenchMessage {
  const tag = Buffer.from(`X-Bench-Id: ${id}\r\n`);
  const body = makeMessage({
    size: Math.max(size - tag.length, 600),
    seed,
    leadingDots: r() < 0.2,
    eightBit: r() < 0.3 ? 'utf-8' : false,
  });
  return { id, data: Buffer.concat([tag, body]) };
}

/** `perBox` mixed messages for mailbox `box`: mostly 2–50 KB, about 4 % 0.2–2 MB. */
export function mixedMessages(box: number, perBox: number): BenchMessage[] {
  const r = rng(7_000 + box);
  const out: BenchMessage[] = [];
  for (let i = 0; i < perBox; i++) {
    const size = r() < LARGE_SHARE ? logUniform(r, 200_000, 2_000_000) : logUniform(r, 2_000, 50_000);
    out.push(tagged(`mix-${box}-${i}`, size, box * 100_000 + i, r));
  }
  return out;
}

/** `count` small messages (1–8 KB), the shape of notification mail. */
export function smallMessages(count: number): BenchMessage[] {
  const r = rng(9_001);
  return Array.from({ length: count }, (_, i) =>
    tagged(`small-${i}`, logUniform(r, 1_000, 8_000), 500_000 + i, r),
  );
}

/** `count` small messages (1–8 KB) for mailbox `box` of many: ids unique across mailboxes. */
export function smallBoxMessages(box: number, count: number): BenchMessage[] {
  const r = rng(11_000 + box);
  return Array.from({ length: count }, (_, i) =>
    tagged(`scale-${box}-${i}`, logUniform(r, 1_000, 8_000), 2_000_000 + box * 1_000 + i, r),
  );
}

/** One message of `bytes` octets. */
export function hugeMessage(bytes: number): BenchMessage {
  return tagged('huge-0', bytes, 900_000, rng(9_002));
}

/**
 * What the sink must have seen for a message: its bytes with CRLF as LF and trailing line ends
 * dropped, because smtp-sink stores lines with LF and adds an empty line after each message.
 */
export function fingerprint(data: Buffer): string {
  return createHash('sha256')
    .update(comparable(normalise(data)))
    .digest('hex');
}

// The trace header a client adds at the top of the message, recognised by where it came from.
const CLIENT_TRACE = /^Received: from 127\.0\.0\.1[^\n]*\n(?:[ \t][^\n]*\n)*/;
const RETURN_PATH = /^Return-Path:[^\n]*\n/m;

/**
 * What is compared of a message that starts at its X-Bench-Id line (LF line ends): without the
 * Return-Path line (fetchmail removes it, as a delivery agent does; Postbote keeps it) and without a
 * Received header from 127.0.0.1 right after the first line (where fetchmail puts its own).
 * Everything else must be identical.
 */
export function comparable(content: Buffer): Buffer {
  const firstLf = content.indexOf(0x0a);
  const headEnd = content.indexOf('\n\n');
  if (firstLf < 0 || headEnd < 0) return content;
  let head = content.toString('latin1', firstLf + 1, headEnd + 1);
  head = head.replace(CLIENT_TRACE, '').replace(RETURN_PATH, '');
  return Buffer.concat([
    content.subarray(0, firstLf + 1),
    Buffer.from(head, 'latin1'),
    content.subarray(headEnd + 1),
  ]);
}

/** CRLF → LF, trailing LFs removed. The corpus has no bare CR or LF, so nothing else is lost. */
export function normalise(data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length);
  let n = 0;
  for (let i = 0; i < data.length; ) {
    const cr = data.indexOf(0x0d, i);
    const end = cr < 0 ? data.length : cr;
    n += data.copy(out, n, i, end);
    if (cr < 0) break;
    if (data[cr + 1] !== 0x0a) out[n++] = 0x0d;
    i = cr + 1;
  }
  while (n > 0 && out[n - 1] === 0x0a) n--;
  return out.subarray(0, n);
}

export function totalBytes(messages: BenchMessage[]): number {
  return messages.reduce((sum, m) => sum + m.data.length, 0);
}
