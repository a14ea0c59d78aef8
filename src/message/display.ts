// Header text for people: subjects and names as a mail client shows them, in the message log, the
// CLI and the postmaster notices. Decodes RFC 2047 encoded words and RFC 6532 UTF-8; undeclared 8-bit
// bytes that are not UTF-8 are read as Windows-1252, as mail clients do (it is what such mailers meant,
// and unlike latin1 it gives € and the typographic quotes). Control characters go: a subject must not
// move a terminal's cursor, forge a log line or turn text right-to-left.
import { windows1252 } from './charset.js';
import { decodeEncodedWords } from './encoded-word.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * C0 and C1 controls (DEL too), the Unicode bidirectional marks, overrides and isolates (the "Trojan
 * Source" characters), line and paragraph separators and the BOM: none belongs on one displayed line.
 */
const CONTROLS = /[\p{Cc}\p{Bidi_Control}\u2028\u2029\ufeff]+/gu;

/** Raw header bytes as text: UTF-8 (RFC 6532) when they are valid UTF-8, else Windows-1252. */
export function headerText(bytes: Buffer): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    return windows1252(bytes);
  }
}

/** A header value (string as parsed, or its raw bytes) as one safe line of readable text. */
export function displayHeader(value: string | Buffer): string {
  const text = typeof value === 'string' ? value : headerText(value);
  return decodeEncodedWords(text).replace(CONTROLS, ' ').replace(/ {2,}/g, ' ').trim();
}
