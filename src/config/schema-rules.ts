// The `rules:` list of a mailbox: conditions (all/any/not over sender, recipient, subject, header,
// attachment, size) and actions (reroute, addRecipient, copyTo, quarantine, stop), checked key by key.
import { z } from 'zod';
import type { Action, Condition, Matcher, RoutingRule } from '../routing/types.js';
import { showValue } from './config-error.js';
import { isAddress } from './fields.js';
import { parseSize } from './units.js';

type Issue = { path: PropertyKey[]; message: string; hint?: string };

const CONDITION_KEYS = [
  'all',
  'any',
  'not',
  'sender',
  'recipient',
  'subject',
  'header',
  'attachment',
  'size',
];
const ACTION_KEYS = ['reroute', 'addRecipient', 'copyTo', 'quarantine', 'stop'];
const MATCHER_HINT = 'a glob like "*@example.org" or one of { glob: …, regex: …, contains: … }';

const isMapping = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The only key of a one-key mapping, or an issue. */
function singleKey(value: unknown, keys: string[], what: string, path: PropertyKey[], issues: Issue[]) {
  if (!isMapping(value) || Object.keys(value).length !== 1) {
    issues.push({
      path,
      message: `expected a ${what} with exactly one of ${keys.join(', ')}, got ${showValue(value)}`,
    });
    return undefined;
  }
  const key = Object.keys(value)[0]!;
  if (!keys.includes(key)) {
    issues.push({
      path: [...path, key],
      message: `unknown ${what} "${key}"`,
      hint: `use one of ${keys.join(', ')}`,
    });
    return undefined;
  }
  return { key, arg: value[key] };
}

function matcher(value: unknown, path: PropertyKey[], issues: Issue[]): Matcher | undefined {
  if (typeof value === 'string' && value !== '') return { glob: value };
  const one = singleKey(value, ['glob', 'regex', 'contains'], 'text test', path, issues);
  if (!one) return undefined;
  if (typeof one.arg !== 'string' || one.arg === '') {
    issues.push({
      path: [...path, one.key],
      message: `expected a text, got ${showValue(one.arg)}`,
      hint: MATCHER_HINT,
    });
    return undefined;
  }
  if (one.key === 'regex') {
    try {
      new RegExp(one.arg, 'iu');
    } catch (err) {
      issues.push({
        path: [...path, 'regex'],
        message: `invalid regular expression: ${(err as Error).message}`,
      });
      return undefined;
    }
    return { regex: one.arg };
  }
  return one.key === 'glob' ? { glob: one.arg } : { contains: one.arg };
}

function condition(value: unknown, path: PropertyKey[], issues: Issue[]): Condition | undefined {
  const one = singleKey(value, CONDITION_KEYS, 'condition', path, issues);
  if (!one) return undefined;
  const at = [...path, one.key];
  const { key, arg } = one;
  if (key === 'all' || key === 'any') {
    if (!Array.isArray(arg) || arg.length === 0) {
      issues.push({ path: at, message: `expected a list of conditions, got ${showValue(arg)}` });
      return undefined;
    }
    const list = arg.map((c, i) => condition(c, [...at, i], issues));
    if (list.some((c) => c === undefined)) return undefined;
    return key === 'all' ? { all: list as Condition[] } : { any: list as Condition[] };
  }
  if (key === 'not') {
    const inner = condition(arg, at, issues);
    return inner && { not: inner };
  }
  if (key === 'header') {
    if (
      !isMapping(arg) ||
      typeof arg.name !== 'string' ||
      !('value' in arg) ||
      Object.keys(arg).length !== 2
    ) {
      issues.push({ path: at, message: `expected { name: HEADER, value: TEST }, got ${showValue(arg)}` });
      return undefined;
    }
    const m = matcher(arg.value, [...at, 'value'], issues);
    return m && { header: { name: arg.name, value: m } };
  }
  if (key === 'size') {
    const bounds = isMapping(arg) ? arg : {};
    const over = bounds.over === undefined ? undefined : parseSize(bounds.over);
    const under = bounds.under === undefined ? undefined : parseSize(bounds.under);
    const extra = Object.keys(bounds).filter((k) => k !== 'over' && k !== 'under');
    if (
      !isMapping(arg) ||
      extra.length > 0 ||
      (over === undefined && under === undefined) ||
      (bounds.over !== undefined && over === undefined) ||
      (bounds.under !== undefined && under === undefined)
    ) {
      issues.push({
        path: at,
        message: `expected { over: SIZE } and/or { under: SIZE }, got ${showValue(arg)}`,
        hint: 'sizes like 512KB or 10MB',
      });
      return undefined;
    }
    return { size: { ...(over === undefined ? {} : { over }), ...(under === undefined ? {} : { under }) } };
  }
  const m = matcher(arg, at, issues);
  if (!m) return undefined;
  if (key === 'sender') return { sender: m };
  if (key === 'recipient') return { recipient: m };
  if (key === 'subject') return { subject: m };
  return { attachment: m };
}

function addresses(value: unknown, path: PropertyKey[], issues: Issue[], localPartOk: boolean) {
  const items = Array.isArray(value) ? value : [value];
  const ok = (v: unknown) =>
    typeof v === 'string' &&
    (isAddress(v.trim()) || (localPartOk && /^[^\s@<>()[\]\\,;:"]+$/.test(v.trim())));
  const bad = items.findIndex((v) => !ok(v));
  if (items.length === 0 || bad >= 0) {
    issues.push({
      path: Array.isArray(value) && bad >= 0 ? [...path, bad] : path,
      message: `expected an address or a list of addresses, got ${showValue(bad >= 0 ? items[bad] : value)}`,
    });
    return undefined;
  }
  return items.map((v: string) => v.trim());
}

function action(value: unknown, path: PropertyKey[], issues: Issue[]): Action | undefined {
  if (value === 'stop') return { stop: true };
  const one = singleKey(value, ACTION_KEYS, 'action', path, issues);
  if (!one) return undefined;
  const at = [...path, one.key];
  if (one.key === 'stop') {
    if (one.arg === true) return { stop: true };
    issues.push({ path: at, message: `expected true, got ${showValue(one.arg)}`, hint: 'write - stop' });
    return undefined;
  }
  if (one.key === 'quarantine') {
    if (typeof one.arg === 'string' && one.arg.trim() !== '') return { quarantine: one.arg.trim() };
    if (one.arg === true) return { quarantine: 'quarantined by rule' };
    issues.push({ path: at, message: `expected a reason (text), got ${showValue(one.arg)}` });
    return undefined;
  }
  const list = addresses(one.arg, at, issues, one.key === 'addRecipient');
  if (!list) return undefined;
  if (one.key === 'reroute') return { reroute: list };
  if (one.key === 'addRecipient') return { addRecipient: list };
  return { copyTo: list };
}

function rule(value: unknown, path: PropertyKey[], issues: Issue[]): RoutingRule | undefined {
  if (!isMapping(value)) {
    issues.push({ path, message: `expected a rule { if: …, then: […] }, got ${showValue(value)}` });
    return undefined;
  }
  const extra = Object.keys(value).filter((k) => !['name', 'if', 'then'].includes(k));
  for (const k of extra)
    issues.push({ path: [...path, k], message: `unknown key "${k}"`, hint: 'a rule has name, if and then' });
  if (value.name !== undefined && typeof value.name !== 'string') {
    issues.push({ path: [...path, 'name'], message: `expected a text, got ${showValue(value.name)}` });
  }
  if (value.if === undefined)
    issues.push({ path, message: 'if: is required', hint: 'e.g. if: { subject: "*invoice*" }' });
  const cond = value.if === undefined ? undefined : condition(value.if, [...path, 'if'], issues);
  const then = Array.isArray(value.then) ? value.then : value.then === undefined ? undefined : [value.then];
  if (then === undefined || then.length === 0) {
    issues.push({
      path,
      message: 'then: is required (a list of actions)',
      hint: 'e.g. then: [{ reroute: a@corp.local }, stop]',
    });
    return undefined;
  }
  const actions = then.map((a, i) =>
    action(a, [...path, 'then', ...(Array.isArray(value.then) ? [i] : [])], issues),
  );
  if (!cond || extra.length > 0 || actions.some((a) => a === undefined)) return undefined;
  return {
    ...(typeof value.name === 'string' ? { name: value.name } : {}),
    if: cond,
    actions: actions as Action[],
  };
}

export const rulesSchema = () =>
  z.unknown().transform((value, ctx): RoutingRule[] => {
    if (!Array.isArray(value)) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a list of rules, got ${showValue(value)}`,
        input: value,
      });
      return z.NEVER;
    }
    const issues: Issue[] = [];
    const rules = value.map((r, i) => rule(r, [i], issues));
    for (const issue of issues) {
      ctx.addIssue({
        code: 'custom',
        path: issue.path,
        message: issue.message,
        params: { hint: issue.hint },
        input: value,
      });
    }
    return issues.length > 0 ? z.NEVER : (rules as RoutingRule[]);
  });
