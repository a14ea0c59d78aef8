// Reads a message's header block (RFC 5322 section 2.2): unfolds, keeps order and the raw value.
// Tolerant on purpose: real mail has broken headers, and a bad header must not stop delivery.
import { parseAddressList } from './address.js';
import { headerText } from './display.js';

export interface Header {
  /** Lower-cased field name. */
  name: string;
  /**
   * Unfolded value, leading whitespace trimmed; each raw line read as UTF-8 (RFC 6532), or as
   * Windows-1252 when it is not valid UTF-8 (undeclared 8-bit, as mail clients read it).
   */
  value: string;
}

export function parseHeaders(block: Buffer | string): Header[] {
  const headers: Header[] = [];
  for (const line of lines(block)) {
    if (line === '') break;
    const last = headers.at(-1);
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      last.value += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue; // not a header line (e.g. mbox "From " line): skip rather than fail
    headers.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() });
  }
  return headers;
}

function lines(block: Buffer | string): string[] {
  if (typeof block === 'string') return block.split(/\r?\n/);
  const out: string[] = [];
  let from = 0;
  while (from <= block.length) {
    let lf = block.indexOf(0x0a, from);
    if (lf < 0) lf = block.length;
    const end = lf > from && block[lf - 1] === 0x0d ? lf - 1 : lf;
    const line = headerText(block.subarray(from, end));
    out.push(line);
    if (line === '') break; // the header block ends here; the rest is not read
    from = lf + 1;
  }
  return out;
}

export function headerValues(headers: Header[], name: string): string[] {
  const n = name.toLowerCase();
  return headers.filter((h) => h.name === n).map((h) => h.value);
}

export function firstHeader(headers: Header[], name: string): string | undefined {
  const n = name.toLowerCase();
  return headers.find((h) => h.name === n)?.value;
}

/**
 * The first mailbox address in a header value: `Name <a@b>`, `<a@b>`, `a@b (comment)`.
 * Returns '' for the null path `<>` and undefined when there is none.
 */
export function firstAddress(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const angle = /<([^<>]*)>/.exec(value);
  if (angle) return angle[1]!.trim();
  const bare = /[^\s<>(),;:"]+@[^\s<>(),;:"]+/.exec(value.replace(/\([^()]*\)/g, ' '));
  return bare?.[0];
}

/** Every address in an address-list header value (RFC 5322 parser), lower-cased domain, in order. */
export function allAddresses(value: string): string[] {
  return parseAddressList(value).map((m) => m.address);
}

/** Lower-cases the domain (case-insensitive by RFC 5321); the local part keeps its case. */
export function normalizeAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 0) return address;
  return address.slice(0, at) + '@' + address.slice(at + 1).toLowerCase();
}

export function isAddress(value: string): boolean {
  return /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$|^[^\s@<>]+@[^\s@<>.]+$/.test(value);
}
