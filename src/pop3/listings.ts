// Pure parsers for the bodies of CAPA, UIDL and LIST (RFC 1939 §5, RFC 2449 §5), and their join.
import type { SourceMessage } from '../source/types.js';

/** Body lines of a multi-line reply (already unstuffed), without the empty tail after the last CRLF. */
export function bodyLines(body: Buffer): string[] {
  const text = body.toString('utf8');
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

/** Parses "n value" lines; a line that does not fit makes the whole listing invalid (undefined). */
function parsePairs(lines: string[], value: RegExp): Map<number, string> | undefined {
  const out = new Map<number, string>();
  for (const line of lines) {
    const m = /^(\d+)\s+(\S+)/.exec(line.trim());
    if (!m || !value.test(m[2]!)) return undefined;
    out.set(Number(m[1]), m[2]!);
  }
  return out;
}

/** UIDL: message number → unique id (RFC 1939: 1 to 70 printable characters 0x21–0x7E). */
export function parseUidl(lines: string[]): Map<number, string> | undefined {
  return parsePairs(lines, /^[\x21-\x7e]{1,70}$/);
}

/** LIST: message number → size in octets. */
export function parseList(lines: string[]): Map<number, number> | undefined {
  const pairs = parsePairs(lines, /^\d+$/);
  if (!pairs) return undefined;
  return new Map([...pairs].map(([n, s]) => [n, Number(s)]));
}

/**
 * Joins UIDL and LIST by message number, in message-number order. A number in one but not the other
 * means the listings are inconsistent: the caller treats that as a protocol error.
 */
export function joinListings(
  uids: Map<number, string>,
  sizes: Map<number, number>,
): SourceMessage[] | undefined {
  if (uids.size !== sizes.size) return undefined;
  const out: SourceMessage[] = [];
  for (const [num, size] of sizes) {
    const uid = uids.get(num);
    if (uid === undefined) return undefined;
    out.push({ uid, num, size });
  }
  return out.sort((a, b) => a.num - b.num);
}
