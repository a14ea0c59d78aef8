// Address lists per RFC 5322 section 3.4 (with the obsolete forms real mail still uses), RFC 2047
// display names and RFC 6532 UTF-8: display names, quoted local parts, comments, groups, routes, IDN.
import { domainToASCII } from 'node:url';
import { decodeEncodedWords } from './encoded-word.js';

export interface Mailbox {
  /** Display name, encoded words decoded; '' when there is none. */
  name: string;
  /** Local part as meant (quotes and escapes removed); case kept. */
  local: string;
  /** Domain in lower-case ASCII (IDN as punycode), or a domain literal like [192.0.2.1]. */
  domain: string;
  /** `local@domain` ready for an SMTP envelope: the local part quoted when it is not a dot-atom. */
  address: string;
  /** The group's name when the mailbox was listed inside `name: …;`. */
  group?: string;
}

type Token =
  | { kind: 'atom'; text: string }
  | { kind: 'quoted'; text: string }
  | { kind: 'literal'; text: string }
  | { kind: 'special'; text: string };

const ENCODED_WORD_AT = /^=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=/;
const SPECIALS = new Set(['<', '>', ':', ';', '@', ',', '.']);
const DOT_ATOM = /^[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*$/u;

export function tokenize(value: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < value.length) {
    const c = value[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(') {
      // Comments nest and may hold escaped parentheses; they never carry an address.
      let depth = 0;
      for (; i < value.length; i++) {
        const d = value[i];
        if (d === '\\') i++;
        else if (d === '(') depth++;
        else if (d === ')' && --depth === 0) break;
      }
      i++;
    } else if (c === '"') {
      let text = '';
      for (i++; i < value.length && value[i] !== '"'; i++) {
        if (value[i] === '\\' && i + 1 < value.length) i++;
        text += value[i];
      }
      i++;
      out.push({ kind: 'quoted', text });
    } else if (c === '[') {
      const end = value.indexOf(']', i);
      const stop = end < 0 ? value.length : end + 1;
      out.push({ kind: 'literal', text: value.slice(i, stop) });
      i = stop;
    } else if (c === '=' && value[i + 1] === '?' && ENCODED_WORD_AT.test(value.slice(i))) {
      // An encoded word is one atom even when its data holds specials (`<`, `@`) against RFC 2047:
      // otherwise an address spelled inside a display name would be taken for the address.
      const word = ENCODED_WORD_AT.exec(value.slice(i))![0];
      out.push({ kind: 'atom', text: word });
      i += word.length;
    } else if (SPECIALS.has(c)) {
      out.push({ kind: 'special', text: c });
      i++;
    } else {
      let text = '';
      while (i < value.length && !/[\s"()[\]<>:;@,.]/.test(value[i]!)) text += value[i++];
      if (text === '')
        i++; // a stray ')' or ']': skip it rather than loop
      else out.push({ kind: 'atom', text });
    }
  }
  return out;
}

/** Every mailbox of an address-list header value, groups flattened, in order; unparsable parts skipped. */
export function parseAddressList(value: string): Mailbox[] {
  const tokens = tokenize(value);
  const out: Mailbox[] = [];
  let group: string | undefined;
  let current: Token[] = [];
  let inAngle = false;
  const flush = () => {
    const mailbox = toMailbox(current, group);
    if (mailbox) out.push(mailbox);
    current = [];
  };
  for (const t of tokens) {
    const s = t.kind === 'special' ? t.text : '';
    if (s === '<') inAngle = true;
    else if (s === '>') inAngle = false;
    if (!inAngle && s === ':' && group === undefined && !current.some((x) => x.text === '@')) {
      group = phraseText(current);
      current = [];
    } else if (!inAngle && s === ',') flush();
    else if (!inAngle && s === ';') {
      // Ends a group; outside one it is Outlook's list separator, taken as a comma.
      flush();
      group = undefined;
    } else current.push(t);
  }
  flush();
  return out;
}

/** The first mailbox of a header value, or undefined. */
export function parseMailbox(value: string): Mailbox | undefined {
  return parseAddressList(value)[0];
}

function toMailbox(tokens: Token[], group: string | undefined): Mailbox | undefined {
  if (tokens.length === 0) return undefined;
  const open = tokens.findIndex((t) => t.kind === 'special' && t.text === '<');
  let name = '';
  let spec = tokens;
  if (open >= 0) {
    name = phraseText(tokens.slice(0, open));
    const close = tokens.findIndex((t, i) => i > open && t.kind === 'special' && t.text === '>');
    spec = tokens.slice(open + 1, close < 0 ? tokens.length : close);
    // Obsolete source route `<@relay:user@host>`: only the part after the last ':' is the address.
    const colon = spec.findLastIndex((t) => t.kind === 'special' && t.text === ':');
    if (colon >= 0) spec = spec.slice(colon + 1);
  }
  const mailbox = fromAddrSpec(spec, name, group);
  if (mailbox || open >= 0) return mailbox;
  // Lenient: some senders encode a whole bare address as an encoded word (`=?utf-8?B?…?=`).
  const raw = tokens.map((t) => t.text).join('');
  const decoded = decodeEncodedWords(raw);
  if (decoded !== raw && decoded.includes('@')) return parseAddressList(decoded)[0];
  return undefined;
}

function fromAddrSpec(spec: Token[], name: string, group: string | undefined): Mailbox | undefined {
  const at = spec.findLastIndex((t) => t.kind === 'special' && t.text === '@');
  if (at <= 0 || at === spec.length - 1) return undefined;
  const local = spec
    .slice(0, at)
    .map((t) => t.text)
    .join('');
  const domain = normalizeDomain(
    spec
      .slice(at + 1)
      .map((t) => t.text)
      .join(''),
  );
  if (local === '' || domain === undefined) return undefined;
  return { name, local, domain, address: formatAddress(local, domain), ...(group ? { group } : {}) };
}

/** Lower-case ASCII form of a domain (punycode for IDN); undefined when it is not a domain. */
export function normalizeDomain(domain: string): string | undefined {
  const d = domain.trim().replace(/\.$/, '');
  if (/^\[[^\]]*\]$/.test(d)) return d.toLowerCase();
  if (d === '' || d.startsWith('.') || d.includes('..')) return undefined;
  const ascii = domainToASCII(d.toLowerCase());
  return ascii === '' ? undefined : ascii;
}

/** `local@domain` with the local part quoted (RFC 5321 Quoted-string) when it is not a dot-atom. */
export function formatAddress(local: string, domain: string): string {
  const l = DOT_ATOM.test(local) ? local : `"${local.replace(/(["\\])/g, '\\$1')}"`;
  return `${l}@${domain}`;
}

function phraseText(tokens: Token[]): string {
  const words: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'special' && t.text === '.' && words.length > 0) words[words.length - 1] += '.';
    else words.push(t.text);
  }
  return decodeEncodedWords(words.join(' ').trim());
}
