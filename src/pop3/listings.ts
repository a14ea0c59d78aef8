// Pure parsers for the bodies of CAPA, UIDL and LIST (RFC 1939 §5, RFC 2449 §5), and their join.
// A listing comes from outside and may lie: a line that cannot be trusted is refused with the line
// and the reason, and only that message is left alone; the rest of the listing stays usable.
import type { RefusedEntry, SourceListing, SourceMessage } from '../source/types.js';

/**
 * RFC 1939 allows 70 characters; servers send longer ones (hashes, paths). Accepted up to this length,
 * which the store keeps whole; beyond it a UID is refused rather than cut (a cut UID could match another).
 */
export const MAX_UID_LENGTH = 1000;

/**
 * Body lines of a multi-line reply (already unstuffed), without the empty tail after the last CRLF.
 * Decoded as Latin-1, byte for byte: two UIDs that differ in one byte stay different.
 */
export function bodyLines(body: Buffer): string[] {
  const text = body.toString('latin1');
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** CAPA: capability name (upper-cased) → its arguments, e.g. SASL → ['PLAIN', 'LOGIN']. */
export function parseCapa(lines: string[]): Map<string, string[]> {
  const caps = new Map<string, string[]>();
  for (const line of lines) {
    const [name, ...args] = line.trim().split(/\s+/);
    if (name) caps.set(name.toUpperCase(), args);
  }
  return caps;
}

export interface ParsedLines<T> {
  /** Message number → value, for the lines that were understood. */
  byNum: Map<number, T>;
  refused: RefusedEntry[];
  /** Numbers of refused lines (where one could be read), so the other listing does not report them again. */
  refusedNums: Set<number>;
}

/** Control characters (and DEL) never belong in a UID; a UID with them cannot be logged or compared safely. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\x00-\x1f\x7f]/;

type Parsed<T> = { ok: T } | { why: string };

function parseLines<T>(lines: string[], command: string, value: (rest: string) => Parsed<T>): ParsedLines<T> {
  const byNum = new Map<number, T>();
  const refused: RefusedEntry[] = [];
  const refusedNums = new Set<number>();
  const seen = new Set<number>();
  for (const line of lines) {
    const m = /^ *(\d{1,10}) +(.*)$/.exec(line);
    const num = m ? Number(m[1]) : 0;
    const parsed: Parsed<T> = m && num > 0 ? value(m[2]!) : { why: 'not "number value"' };
    if (num > 0 && (seen.has(num) || refusedNums.has(num) || 'why' in parsed)) refusedNums.add(num);
    if ('why' in parsed) {
      byNum.delete(num);
      refused.push({ line, why: `${command}: ${parsed.why}` });
    } else if (seen.has(num)) {
      // Which of the two lines is right cannot be known: neither is used.
      byNum.delete(num);
      refused.push({ line, why: `${command}: message number ${num} is listed twice` });
    } else {
      seen.add(num);
      if (!refusedNums.has(num)) byNum.set(num, parsed.ok);
    }
  }
  return { byNum, refused, refusedNums };
}

/**
 * UIDL: message number → unique id, exactly as the server sent it (everything after the separating
 * space, inner spaces included: "1 a b" and "1 a c" are different messages).
 */
export function parseUidl(lines: string[]): ParsedLines<string> {
  return parseLines(lines, 'UIDL', (rest): Parsed<string> => {
    if (rest.length === 0) return { why: 'empty unique id' };
    if (rest.length > MAX_UID_LENGTH) return { why: `unique id longer than ${MAX_UID_LENGTH} characters` };
    if (CONTROL.test(rest)) return { why: 'control character in the unique id' };
    return { ok: rest };
  });
}

/** LIST: message number → size in octets. Anything after the size is allowed (RFC 1939 §5). */
export function parseList(lines: string[]): ParsedLines<number> {
  return parseLines(lines, 'LIST', (rest): Parsed<number> => {
    const m = /^(\d{1,15})(?:\s|$)/.exec(rest);
    return m ? { ok: Number(m[1]) } : { why: 'size is not a number' };
  });
}

/**
 * Joins UIDL and LIST by message number, in message-number order. A number in only one of them is
 * refused (it cannot be both identified and sized); the listings' own refusals are carried along.
 */
export function joinListings(uids: ParsedLines<string>, sizes: ParsedLines<number>): SourceListing {
  const refused = [...uids.refused, ...sizes.refused];
  const messages: SourceMessage[] = [];
  for (const [num, size] of sizes.byNum) {
    const uid = uids.byNum.get(num);
    if (uid === undefined) {
      if (!uids.refusedNums.has(num)) {
        refused.push({ line: `${num} ${size}`, why: `message ${num} is in LIST but not in UIDL` });
      }
      continue;
    }
    messages.push({ uid, num, size });
  }
  for (const [num, uid] of uids.byNum) {
    if (!sizes.byNum.has(num) && !sizes.refusedNums.has(num)) {
      refused.push({ line: `${num} ${uid}`, why: `message ${num} is in UIDL but not in LIST` });
    }
  }
  return { messages: messages.sort((a, b) => a.num - b.num), refused };
}
