// Turns zod's issues into ConfigIssues: plain-language messages, "did you mean" hints, line and column.
import type { z } from 'zod';
import { type ConfigIssue, formatPath, showValue } from './config-error.js';
import { UNKNOWN_KEYS_MARKER } from './fields.js';
import type { Position } from './locate.js';
import { closest } from './suggest.js';

export type Locator = (path: readonly PropertyKey[], at?: 'key' | 'value') => Position;

/** What the file says elsewhere, for hints that name a value to write. */
export interface IssueContext {
  /** The company's mail domains, most used first (configDomains). */
  domains?: readonly string[];
  /** The data that was validated: a secret field's value is found there when an issue does not carry it. */
  data?: unknown;
}

// Keys whose values are secrets or stand-ins for them (a hash where a pasted password often lands):
// their values are never shown in an error. `passwordFile` and the like hold a path, not a secret.
const SECRET_KEY = /password|secret|token|hash/i;
const NOT_SECRET_KEY = /File$/;
const HIDDEN = 'a value not shown here (a secret)';

const TYPE_NAMES: Record<string, string> = {
  string: 'a text',
  number: 'a number',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  array: 'a list',
  record: 'a mapping (key: value)',
};

/**
 * All issues of one parse. A missing key next to an unknown key in the same mapping is usually the same
 * typo (`delivrTo:` makes deliverTo missing), so only the unknown key is reported there.
 */
export function fromZodIssues(
  issues: readonly z.core.$ZodIssue[],
  locate: Locator,
  context: IssueContext = {},
): ConfigIssue[] {
  const withUnknownKeys = new Set(
    issues.filter((issue) => issue.code === 'unrecognized_keys').map((issue) => formatPath(issue.path)),
  );
  const echo = (issue: z.core.$ZodIssue) =>
    isMissing(issue) &&
    (withUnknownKeys.has(formatPath(issue.path)) || withUnknownKeys.has(formatPath(issue.path.slice(0, -1))));
  return issues
    .filter((issue) => !echo(issue))
    .flatMap((issue) => toConfigIssues(issue, locate).map((c) => refine(c, issue, context)));
}

/** The secret value taken out of the message; a bare local part given the address it probably means. */
function refine(c: ConfigIssue, issue: z.core.$ZodIssue, context: IssueContext): ConfigIssue {
  const input = (issue as { input?: unknown }).input;
  const secret = isSecretPath(issue.path) ? (input ?? valueAt(context.data, issue.path)) : undefined;
  if (typeof secret === 'string' || typeof secret === 'number') {
    const hide = (text: string) => {
      let out = text.split(showValue(secret)).join(HIDDEN);
      if (String(secret).length >= 3) out = out.split(String(secret)).join('****');
      return out;
    };
    return { ...c, message: hide(c.message), ...(c.hint ? { hint: hide(c.hint) } : {}) };
  }
  const domain = context.domains?.[0];
  if (domain && !c.hint && typeof input === 'string' && c.message.startsWith('expected an address')) {
    const local = input.trim();
    if (/^[^\s@<>()[\]\\,;:"]+$/.test(local)) return { ...c, hint: `did you mean ${local}@${domain}?` };
  }
  return c;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let node = data;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}

export function isSecretPath(path: readonly PropertyKey[]): boolean {
  const key = [...path].reverse().find((segment) => typeof segment === 'string');
  return typeof key === 'string' && SECRET_KEY.test(key) && !NOT_SECRET_KEY.test(key);
}

function isMissing(issue: z.core.$ZodIssue): boolean {
  const params = (issue as { params?: { missing?: boolean } }).params;
  const input = (issue as { input?: unknown }).input;
  return params?.missing === true || (issue.code === 'invalid_type' && input === undefined);
}

export function toConfigIssues(issue: z.core.$ZodIssue, locate: Locator): ConfigIssue[] {
  const path = issue.path;
  const input = (issue as { input?: unknown }).input;

  if (issue.code === 'unrecognized_keys') {
    const known: string[] = issue.message.startsWith(UNKNOWN_KEYS_MARKER)
      ? JSON.parse(issue.message.slice(UNKNOWN_KEYS_MARKER.length))
      : [];
    return issue.keys.map((key) => {
      const suggestion = closest(key, known);
      const hint = suggestion
        ? `did you mean ${suggestion}?`
        : known.length > 0
          ? `known keys here: ${known.join(', ')}`
          : undefined;
      return at(locate, [...path, key], 'key', `unknown key "${key}"`, hint);
    });
  }

  const params = (issue as { params?: { missing?: boolean; hint?: string } }).params;
  if (isMissing(issue)) {
    return [
      at(
        locate,
        path,
        'value',
        issue.code === 'custom' ? issue.message : 'required',
        params?.hint ?? addHint(path),
      ),
    ];
  }

  switch (issue.code) {
    case 'invalid_type':
      return [
        at(
          locate,
          path,
          'value',
          `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${showValue(input)}`,
        ),
      ];
    case 'invalid_value': {
      const values = issue.values.map(String);
      const suggestion = typeof input === 'string' ? closest(input, values) : undefined;
      return [
        at(
          locate,
          path,
          'value',
          `expected one of ${values.join(', ')}, got ${showValue(input)}`,
          suggestion ? `did you mean ${suggestion}?` : undefined,
        ),
      ];
    }
    default:
      return [at(locate, path, 'value', issue.message, params?.hint)];
  }
}

function at(
  locate: Locator,
  path: readonly PropertyKey[],
  where: 'key' | 'value',
  message: string,
  hint?: string,
): ConfigIssue {
  return { path: formatPath(path), ...locate(path, where), message, ...(hint ? { hint } : {}) };
}

function addHint(path: readonly PropertyKey[]): string | undefined {
  const key = path.at(-1);
  if (typeof key !== 'string') return undefined;
  const parent = formatPath(path.slice(0, -1));
  return `add ${key}: ${parent ? `under ${parent}` : 'at the top level'}`;
}
