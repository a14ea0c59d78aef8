// Body text for the test corpus: a seeded PRNG, one block of word lines per message, and the fill
// that repeats it to any size with every line numbered, so a duplicated or lost chunk shows.
export type Rng = () => number;

/** mulberry32: tiny, fast, good enough for test data, same output on every platform. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Bytes of text generated per message, then repeated: big enough to look like prose, small
// enough that a 20 MB message takes milliseconds.
const BLOCK_BYTES = 48 * 1024;
// Every body line starts with its number in base 36, this many digits, then a space.
const COUNTER_DIGITS = 7;
// Typical mail line length (RFC 5322 recommends 78).
const LINE_CHARS = 72;

const ASCII_WORDS = (
  'the mail server fetches every message from the provider mailbox and delivers it to the company ' +
  'gateway without losing or duplicating anything invoice report meeting tomorrow please find attached ' +
  'regards schedule project budget review quarterly numbers update customer order shipment'
).split(' ');
const UTF8_WORDS = [
  'Grüße',
  'Straße',
  'naïve',
  'café',
  'Zürich',
  'Ålesund',
  'Ελληνικά',
  '日本語',
  'żółć',
  '📬',
];
const LATIN1_WORDS = ['Grüße', 'Straße', 'naïve', 'café', 'Zürich', 'Ålesund', 'façade', 'señor', 'Øre'];

export type Charset = 'ascii' | 'utf-8' | 'latin1';

export interface Block {
  data: Buffer;
  /** Offset of each line's counter field inside `data`. */
  lineStarts: number[];
}

export function bodyBlock(r: Rng, charset: Charset, eol: string): Block {
  const eight = charset === 'utf-8' ? UTF8_WORDS : charset === 'latin1' ? LATIN1_WORDS : [];
  const encoding = charset === 'latin1' ? 'latin1' : 'utf8';
  const lines: Buffer[] = [];
  const lineStarts: number[] = [];
  let size = 0;
  while (size < BLOCK_BYTES) {
    let line = '0'.repeat(COUNTER_DIGITS);
    while (line.length < LINE_CHARS) {
      const pick = eight.length > 0 && r() < 0.2 ? eight : ASCII_WORDS;
      line += ' ' + pick[Math.floor(r() * pick.length)];
    }
    const buf = Buffer.from(line + eol, encoding);
    lineStarts.push(size);
    lines.push(buf);
    size += buf.length;
  }
  return { data: Buffer.concat(lines), lineStarts };
}

/** Exactly `length` bytes of numbered lines, ending with `eol` (the last line is padded with 'x'). */
export function fillBody(block: Block, length: number, eol: string): Buffer {
  const out = Buffer.allocUnsafe(length);
  let line = 0;
  for (let at = 0; at < length; at += block.data.length) {
    block.data.copy(out, at, 0, Math.min(block.data.length, length - at));
    for (const start of block.lineStarts) {
      if (at + start + COUNTER_DIGITS > length) break;
      writeCounter(out, at + start, line++);
    }
  }
  // Replace the cut-off last line by a line of x up to the final line end.
  const eolAt = length - eol.length;
  // (lastIndexOf with a negative offset would count from the end, hence the guard.)
  const lastNl = eolAt > 0 ? out.lastIndexOf(0x0a, eolAt - 1) : -1;
  out.fill(0x78, lastNl + 1, eolAt);
  out.write(eol, eolAt, 'latin1');
  return out;
}

function writeCounter(buf: Buffer, at: number, n: number): void {
  for (let i = COUNTER_DIGITS - 1; i >= 0; i--) {
    const d = n % 36;
    buf[at + i] = d < 10 ? 0x30 + d : 0x61 + d - 10;
    n = Math.floor(n / 36);
  }
}
