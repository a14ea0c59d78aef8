// The clamd INSTREAM protocol: framing of the stream and a parser for the one reply line.
// Pure functions; the parser says 'more' until the reply's terminating NUL arrives.

export type ClamdParse =
  | { kind: 'more' }
  | { kind: 'clean' }
  | { kind: 'infected'; virus: string }
  /** Over clamd's StreamMaxLength: not a fault of clamd, the message is passed unscanned and marked. */
  | { kind: 'too-large'; message: string }
  | { kind: 'error'; message: string };

/** z-prefixed commands end with NUL, and so do their replies. */
export const INSTREAM_COMMAND = Buffer.from('zINSTREAM\0', 'latin1');

/** A chunk is preceded by its length as a 4-byte big-endian integer. */
export function chunkHeader(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length);
  return b;
}

/** A zero-length chunk ends the stream. */
export const END_OF_STREAM = Buffer.alloc(4);

/** `stream: OK`, `stream: NAME FOUND`, or `… ERROR` (e.g. INSTREAM size limit exceeded). */
export function parseClamdReply(data: Buffer): ClamdParse {
  const end = data.indexOf(0);
  const line = (end === -1 ? data : data.subarray(0, end)).toString('latin1');
  if (end === -1 && !line.includes('\n')) return { kind: 'more' };
  const text = line.trim();
  if (/size limit exceeded\. ERROR$/.test(text)) return { kind: 'too-large', message: text };
  if (/ ERROR$/.test(text)) return { kind: 'error', message: text };
  const found = /^(?:stream|[^:]*): (.+) FOUND$/.exec(text);
  if (found?.[1]) return { kind: 'infected', virus: found[1] };
  if (/^(?:stream|[^:]*): OK$/.test(text)) return { kind: 'clean' };
  return { kind: 'error', message: `unexpected clamd reply: ${text.slice(0, 120)}` };
}
