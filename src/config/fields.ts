// The schema's building blocks: strict mappings, ports, durations, sizes, addresses, host names.
// Values substituted from ${VAR} arrive as strings, so numbers and booleans also accept their text.
import { isIP } from 'node:net';
import { z } from 'zod';
import { showValue } from './config-error.js';
import { parseDuration, parseSize, suggestDuration, suggestSize } from './units.js';

/** Marker in the message of an unknown-key issue; the formatter turns the known keys into "did you mean". */
export const UNKNOWN_KEYS_MARKER = 'unknown-keys:';

/** A mapping that rejects keys it does not know, so a typo never silently falls back to a default. */
export function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return UNKNOWN_KEYS_MARKER + JSON.stringify(known);
      if (issue.code === 'invalid_type')
        return `expected a mapping (key: value), got ${showValue(issue.input)}`;
      return undefined;
    },
  });
}

/**
 * A value parsed by `parse`; `expected` completes "expected …, got X" when it returns undefined. `hint`
 * may depend on the value, to name what to write instead ("did you mean 5m?").
 */
function parsed<T>(
  expected: string,
  parse: (value: unknown) => T | undefined,
  hint?: string | ((value: unknown) => string | undefined),
) {
  return z.unknown().transform((value, ctx): T => {
    const result = value === undefined ? undefined : parse(value);
    if (result === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: value === undefined ? 'required' : `expected ${expected}, got ${showValue(value)}`,
        params: { missing: value === undefined, hint: typeof hint === 'function' ? hint(value) : hint },
        input: value,
      });
      return z.NEVER;
    }
    return result;
  });
}

function toInteger(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
}

export function intIn(min: number, max: number) {
  return parsed(`a number from ${min} to ${max}`, (value) => {
    const n = toInteger(value);
    return n !== undefined && n >= min && n <= max ? n : undefined;
  });
}

export const port = () => intIn(1, 65535);

export const bool = () =>
  parsed(
    'true or false',
    (value) => {
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      return undefined;
    },
    'write true or false (YAML 1.2 reads yes/no/on/off as text)',
  );

/** Milliseconds, from '30s', '5m', '1h', '2d' or a number of seconds. */
export const duration = () =>
  parsed('a duration like 30s, 5m, 1h or 2d (a bare number counts as seconds)', parseDuration, (value) => {
    const suggestion = suggestDuration(value);
    return suggestion ? `did you mean ${suggestion}?` : undefined;
  });

/** Bytes, from '512KB', '25MB', '1GB' or a number of bytes. */
export const size = () =>
  parsed('a size like 512KB, 25MB or 1GB (a bare number counts as bytes)', parseSize, (value) => {
    const suggestion = suggestSize(value);
    return suggestion ? `did you mean ${suggestion}?` : undefined;
  });

/** A non-empty string; numbers are taken as their text (an unquoted `password: 123456`). */
export function text(expected = 'a text') {
  return parsed(expected, (value) => {
    const s = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
    return typeof s === 'string' && s.trim() !== '' ? s : undefined;
  });
}

const LOCAL_PART = /^[^\s@<>()[\]\\,;:"]+$/;
const DOMAIN =
  /^(?=.{1,253}$)[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?)*$/u;

export function isDomain(value: string): boolean {
  return DOMAIN.test(value);
}

export function isAddress(value: string): boolean {
  const at = value.lastIndexOf('@');
  return at > 0 && LOCAL_PART.test(value.slice(0, at)) && isDomain(value.slice(at + 1));
}

export const address = () =>
  parsed('an address like user@example.com', (value) =>
    typeof value === 'string' && isAddress(value.trim()) ? value.trim() : undefined,
  );

export const domain = () =>
  parsed('a domain like example.com', (value) =>
    typeof value === 'string' && isDomain(value.trim()) ? value.trim().toLowerCase() : undefined,
  );

/** A host name or IP literal (IPv6 without brackets). */
export const host = () =>
  parsed('a host name or IP address', (value) => {
    if (typeof value !== 'string') return undefined;
    const h = value.trim();
    return isIP(h) !== 0 || isDomain(h) ? h : undefined;
  });

export const ipLiteral = () =>
  parsed('an IP address like 192.168.1.10 or fd00::10', (value) =>
    typeof value === 'string' && isIP(value.trim()) !== 0 ? value.trim() : undefined,
  );

/** 'host:port' or '[v6]:port', as listeners and `deliver:` targets are written. */
export const hostPort = () =>
  parsed('host:port, like 127.0.0.1:2526 or [::1]:2526', (value) => {
    if (typeof value !== 'string') return undefined;
    const match = /^(\[[^\]\s]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(value.trim());
    const p = match ? Number(match[2]) : 0;
    return match && p >= 1 && p <= 65535 ? value.trim() : undefined;
  });

/** An IP address or CIDR range, for a listener's allowed clients. */
export const ipRange = () =>
  parsed('an IP address or range like 192.168.1.10 or 10.0.0.0/8', (value) => {
    if (typeof value !== 'string') return undefined;
    const [ip = '', bits, extra] = value.trim().split('/');
    const family = isIP(ip);
    if (family === 0 || extra !== undefined) return undefined;
    if (bits === undefined) return value.trim();
    const n = toInteger(bits);
    return n !== undefined && n <= (family === 4 ? 32 : 128) ? value.trim() : undefined;
  });

/** A list with at least one entry (`deliverTo: []` would deliver nowhere). */
export function nonEmptyList<T extends z.ZodType>(item: T) {
  return z.array(item, { error: (issue) => `expected a list, got ${showValue(issue.input)}` }).min(1, {
    error: 'expected at least one entry',
  });
}

export function list<T extends z.ZodType>(item: T) {
  return z.array(item, { error: (issue) => `expected a list, got ${showValue(issue.input)}` });
}

export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values);
}
