// Decides who a fetched message is for, and says why: fixed recipients for a personal mailbox, or,
// for a catch-all mailbox, the accepted-domain recipients found in the provider's envelope headers.
import { parseAddressList } from '../message/address.js';
import { type Header, headerValues } from '../message/headers.js';
import type { RecipientRecord } from '../store/types.js';
import { candidatesOf, type EnvelopeCandidate, presentIn, trustedBlock } from './envelope.js';
import { canonical, RecipientMapper } from './recipients.js';
import type { CatchAllRule, RouteInput } from './types.js';

export type { CatchAllRule, RouteInput } from './types.js';

/** Headers a provider writes with the envelope recipient, most trustworthy first. */
export const DEFAULT_ENVELOPE_HEADERS = [
  'Delivered-To',
  'X-Original-To',
  'X-Envelope-To',
  'Envelope-To',
  'X-RCPT-TO',
  'Received',
];

/** Header-derived recipients only when no envelope header exists (they miss Bcc and list mail). */
export const VISIBLE_HEADERS = ['To', 'Cc', 'Resent-To'];

export interface RouteContext {
  /** The mailbox's own login: as an envelope recipient it names the catch-all box, not a person. */
  mailboxUser?: string;
  /** The provider host, named in reasons when no Received header says which host wrote a header. */
  provider?: string;
}

export interface Routed {
  recipients: RecipientRecord[];
  /** The accepted envelope addresses behind the recipients, before aliases and rewrite (for rules). */
  envelope: string[];
}

export function route(input: RouteInput, headers: Header[], ctx: RouteContext = {}): RecipientRecord[] {
  return routeDetailed(input, headers, ctx).recipients;
}

export function routeDetailed(input: RouteInput, headers: Header[], ctx: RouteContext = {}): Routed {
  if (!input.catchAll) {
    const recipients = (input.deliverTo ?? []).map(
      (address): RecipientRecord => ({
        address,
        status: 'pending',
        reason: 'fixed recipient of this mailbox (deliverTo)',
      }),
    );
    return { recipients, envelope: [] };
  }
  return routeCatchAll(input.catchAll, headers, ctx);
}

function routeCatchAll(rule: CatchAllRule, headers: Header[], ctx: RouteContext): Routed {
  const mapper = new RecipientMapper(rule);
  const own = ownAddresses(ctx.mailboxUser);
  const block = trustedBlock(headers);
  const found = new Map<string, string>();
  const notes: string[] = [];
  const envelope = new Set<string>();

  const accept = (c: EnvelopeCandidate, by: string) => {
    const mapping = mapper.map(c.mailbox);
    const shown = canonical(c.mailbox);
    if (mapping.kind === 'outside') {
      notes.push(`${by} ${shown} is outside ${rule.domains.join(', ')}`);
      return;
    }
    envelope.add(shown);
    for (const target of mapping.targets) {
      if (found.has(target)) continue;
      const arrow = target === shown ? '' : ` → ${target}${mapping.how ? ` ${mapping.how}` : ''}`;
      found.set(target, `${by}: ${shown}${arrow}`);
    }
  };

  let envelopePresent = false;
  for (const header of rule.headers ?? DEFAULT_ENVELOPE_HEADERS) {
    const candidates = candidatesOf(headers, block, header).filter((c) => {
      if (!own.has(canonical(c.mailbox))) return true;
      notes.push(`${header} ${canonical(c.mailbox)} is this catch-all mailbox itself`);
      return false;
    });
    if (candidates.length > 0) envelopePresent = true;
    else if (presentIn(headers, block, header) && !notes.some((n) => n.startsWith(header))) {
      envelopePresent = true;
      notes.push(`${header} holds no address`);
    }
    for (const c of candidates) accept(c, describeSource(c, ctx));
    if (found.size > 0) break;
  }
  if (!envelopePresent) {
    notes.push('no envelope header: To/Cc/Resent-To used (Bcc recipients cannot be seen)');
    for (const name of VISIBLE_HEADERS) {
      for (const v of headerValues(headers, name))
        for (const mailbox of parseAddressList(v)) accept({ mailbox, header: name }, name);
    }
  }
  if (found.size === 0) {
    const why = notes.length > 0 ? notes.join('; ') : 'no recipient header at all';
    const reason = `no recipient in ${rule.domains.join(', ')} (${why}): fallback`;
    return { recipients: [{ address: rule.fallback, status: 'pending', reason }], envelope: [] };
  }
  const recipients = [...found].map(
    ([address, reason]): RecipientRecord => ({ address, status: 'pending', reason }),
  );
  return { recipients, envelope: [...envelope] };
}

function describeSource(c: EnvelopeCandidate, ctx: RouteContext): string {
  const host = c.host ?? ctx.provider;
  const name = c.header.toLowerCase() === 'received' ? 'Received for' : c.header;
  return host ? `${name} (added by ${host})` : name;
}

function ownAddresses(user: string | undefined): Set<string> {
  if (!user?.includes('@')) return new Set();
  return new Set(parseAddressList(user).map(canonical));
}
