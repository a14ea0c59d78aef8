// RFC 2047 encoded words (`=?utf-8?q?M=C3=BCller?=`) in display names and subjects, decoded to text.
// Lenient like real mail readers: unknown charsets fall back to Windows-1252, bad words stay as written.
import { windows1252 } from './charset.js';

const ENCODED_WORD = /=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=/g;
// Whitespace between two adjacent encoded words is not part of the text (RFC 2047 section 6.2).
const BETWEEN_WORDS = /(\?=)\s+(?==\?[^?\s]+\?[bBqQ]\?)/g;

export function decodeEncodedWords(text: string): string {
  if (!text.includes('=?')) return text;
  const joined = text.replace(BETWEEN_WORDS, '$1');
  // Adjacent words in one charset are decoded as one byte run: mailers split a multi-byte character
  // across two words (against RFC 2047, but common), and decoding each alone would break it in two.
  let out = '';
  let last = 0;
  let run: { charset: string; bytes: Buffer[]; end: number } | undefined;
  const flush = () => {
    if (run) out += decodeBytes(Buffer.concat(run.bytes), run.charset);
    run = undefined;
  };
  for (const m of joined.matchAll(ENCODED_WORD)) {
    const [word, charset, encoding, data] = m as unknown as [string, string, string, string];
    const start = m.index ?? 0;
    const bytes = encoding.toLowerCase() === 'b' ? fromBase64(data) : fromQ(data);
    const cs = charset.toLowerCase();
    if (run && (start !== run.end || run.charset !== cs || !bytes)) flush();
    if (!run) out += joined.slice(last, start);
    if (bytes) {
      run ??= { charset: cs, bytes: [], end: start };
      run.bytes.push(bytes);
      run.end = start + word.length;
    } else out += word;
    last = start + word.length;
  }
  flush();
  return out + joined.slice(last);
}

function fromBase64(data: string): Buffer | undefined {
  // Padding is often missing or wrong in the wild; the alphabet is what makes it base64.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data)) return undefined;
  return Buffer.from(data, 'base64');
}

function fromQ(data: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c === '_') bytes.push(0x20);
    else if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(data.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(data.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(c.charCodeAt(0) & 0xff);
  }
  return Buffer.from(bytes);
}

/** Bytes in a declared charset; an unknown label is read as Windows-1252, the usual undeclared one. */
export function decodeBytes(bytes: Buffer, charset: string): string {
  const label = charset.toLowerCase();
  // Node's decoder reads these labels as pure latin1; mailers that declare them mean Windows-1252.
  if (/^(windows-1252|cp1252|iso-8859-1|latin1|us-ascii|ascii)$/.test(label)) return windows1252(bytes);
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return windows1252(bytes);
  }
}

/** UTF-8 bytes per encoded word: base64 of 45 bytes is 60 characters, 72 with `=?UTF-8?B?` and `?=` (limit 75). */
const WORD_BYTES = 45;
/** RFC 5322 2.1.1: lines SHOULD be at most 78 characters. */
const FOLD_AT = 78;

/**
 * A whole header field, `Name: value`, for a message Postbote writes: words that are not printable
 * ASCII become RFC 2047 encoded words (UTF-8, base64, never splitting a character), and the line is
 * folded at spaces to 78 characters. `value` must be one line (see displayHeader).
 */
export function encodeHeaderField(name: string, value: string): string {
  const tokens: string[] = [];
  let run: string[] = [];
  const flushRun = () => {
    if (run.length > 0) tokens.push(...encodeWords(run.join(' ')));
    run = [];
  };
  for (const word of value.split(' ')) {
    // A literal `=?` could be read as an encoded word: encode such a word too.
    if (/^[\x21-\x7e]*$/.test(word) && !word.includes('=?')) {
      flushRun();
      if (word !== '') tokens.push(word);
    } else run.push(word);
  }
  flushRun();
  const lines: string[] = [];
  let line = `${name}:`;
  for (const t of tokens) {
    if (line.length + 1 + t.length > FOLD_AT && line.trim() !== `${name}:`) {
      lines.push(line);
      line = ` ${t}`;
    } else line += ` ${t}`;
  }
  lines.push(line);
  return lines.join('\r\n');
}

function encodeWords(text: string): string[] {
  const words: string[] = [];
  let bytes: Buffer[] = [];
  let size = 0;
  const flush = () => {
    if (size > 0) words.push(`=?UTF-8?B?${Buffer.concat(bytes).toString('base64')}?=`);
    bytes = [];
    size = 0;
  };
  for (const ch of text) {
    const b = Buffer.from(ch, 'utf8');
    if (size + b.length > WORD_BYTES) flush();
    bytes.push(b);
    size += b.length;
  }
  flush();
  return words;
}
