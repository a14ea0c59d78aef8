// The mailbox's rules, evaluated in order after the envelope routing: conditions on the sender,
// recipients, subject, any header, attachment names and size; actions reroute, add, copy, quarantine, stop.
import { displayHeader } from '../message/display.js';
import { firstHeader, type Header, headerValues } from '../message/headers.js';
import type { RecipientRecord } from '../store/types.js';
import type { Action, Condition, Matcher, RoutingRule } from './types.js';

export interface MessageFacts {
  sender: string;
  /** Addresses the message is for: the routed recipients and the envelope addresses behind them. */
  recipients: string[];
  headers: Header[];
  size: number;
  /** Attachment file names; undefined when the body was not read (`postbote route`). */
  attachments?: string[];
}

export interface RulesOutcome {
  recipients: RecipientRecord[];
  quarantine?: string;
  trace: string[];
}

/** Maps a configured address through the mailbox's aliases and rewrite (catch-all) or keeps it. */
export type MapConfigured = (address: string) => string[];

export function applyRules(
  rules: RoutingRule[],
  facts: MessageFacts,
  start: RecipientRecord[],
  mapConfigured: MapConfigured,
): RulesOutcome {
  let recipients = start.map((r) => ({ ...r }));
  const trace: string[] = [];
  for (const [index, rule] of rules.entries()) {
    const label = `rule ${index + 1}${rule.name ? ` "${rule.name}"` : ''}`;
    const why: string[] = [];
    if (!evaluate(rule.if, facts, why)) {
      trace.push(`${label}: no match${why.length > 0 ? ` (${why.join('; ')})` : ''}`);
      continue;
    }
    const did: string[] = [];
    let stop = false;
    for (const action of rule.actions) {
      const result = apply(action, recipients, `${label} (${describe(rule.if)})`, mapConfigured);
      recipients = result.recipients;
      did.push(result.did);
      if (result.quarantine !== undefined) {
        trace.push(`${label}: matched → ${did.join(', ')}`);
        return { recipients, quarantine: `${label}: ${result.quarantine}`, trace };
      }
      if ('stop' in action) stop = true;
    }
    trace.push(`${label}: matched → ${did.join(', ')}`);
    if (stop) break;
  }
  return { recipients, trace };
}

function apply(
  action: Action,
  recipients: RecipientRecord[],
  because: string,
  mapConfigured: MapConfigured,
): { recipients: RecipientRecord[]; did: string; quarantine?: string } {
  const add = (list: RecipientRecord[], addresses: string[], reason: string) => {
    const out = [...list];
    for (const address of addresses) {
      if (!out.some((r) => r.address === address)) out.push({ address, status: 'pending', reason });
    }
    return out;
  };
  if ('reroute' in action) {
    const was = recipients.map((r) => r.address).join(', ');
    return {
      recipients: add([], action.reroute, `${because}: rerouted (was ${was})`),
      did: `reroute to ${action.reroute.join(', ')}`,
    };
  }
  if ('addRecipient' in action) {
    const targets = action.addRecipient.flatMap(mapConfigured);
    return { recipients: add(recipients, targets, `${because}: added`), did: `add ${targets.join(', ')}` };
  }
  if ('copyTo' in action) {
    return {
      recipients: add(recipients, action.copyTo, `${because}: copy`),
      did: `copy to ${action.copyTo.join(', ')}`,
    };
  }
  if ('quarantine' in action) return { recipients, did: 'quarantine', quarantine: action.quarantine };
  return { recipients, did: 'stop' };
}

/** Whether the condition holds; `notes` collects what could not be judged (attachments unknown). */
export function evaluate(c: Condition, facts: MessageFacts, notes: string[] = []): boolean {
  if ('all' in c) return c.all.every((x) => evaluate(x, facts, notes));
  if ('any' in c) return c.any.some((x) => evaluate(x, facts, notes));
  if ('not' in c) return !evaluate(c.not, facts, notes);
  if ('sender' in c) return matches(c.sender, facts.sender);
  if ('recipient' in c) return facts.recipients.some((r) => matches(c.recipient, r));
  if ('subject' in c) {
    // As people read it (what a rule's author writes), and as written, for rules made for that.
    const raw = firstHeader(facts.headers, 'subject') ?? '';
    return matches(c.subject, displayHeader(raw)) || matches(c.subject, raw);
  }
  if ('header' in c)
    return headerValues(facts.headers, c.header.name).some((v) => matches(c.header.value, v));
  if ('attachment' in c) {
    if (facts.attachments === undefined) {
      notes.push('attachment names unknown without the body');
      return false;
    }
    return facts.attachments.some((name) => matches(c.attachment, name));
  }
  return (
    (c.size.over === undefined || facts.size > c.size.over) &&
    (c.size.under === undefined || facts.size < c.size.under)
  );
}

export function matches(m: Matcher, text: string): boolean {
  if ('contains' in m) return text.toLowerCase().includes(m.contains.toLowerCase());
  if ('regex' in m) return new RegExp(m.regex, 'iu').test(text);
  return globToRegExp(m.glob).test(text);
}

export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'isu');
}

/** A short human form of a condition, for reasons: `subject ~ *invoice*`. */
export function describe(c: Condition): string {
  if ('all' in c) return c.all.map(describe).join(' and ');
  if ('any' in c) return `(${c.any.map(describe).join(' or ')})`;
  if ('not' in c) return `not ${describe(c.not)}`;
  if ('sender' in c) return `sender ${showMatcher(c.sender)}`;
  if ('recipient' in c) return `recipient ${showMatcher(c.recipient)}`;
  if ('subject' in c) return `subject ${showMatcher(c.subject)}`;
  if ('header' in c) return `${c.header.name} ${showMatcher(c.header.value)}`;
  if ('attachment' in c) return `attachment ${showMatcher(c.attachment)}`;
  const parts = [];
  if (c.size.over !== undefined) parts.push(`size > ${c.size.over}`);
  if (c.size.under !== undefined) parts.push(`size < ${c.size.under}`);
  return parts.join(' and ');
}

function showMatcher(m: Matcher): string {
  if ('contains' in m) return `contains "${m.contains}"`;
  if ('regex' in m) return `=~ /${m.regex}/`;
  return `~ ${m.glob}`;
}
