// Decides who a fetched message is for, and says why: fixed recipients for a personal mailbox, or,
// for a catch-all mailbox, the accepted-domain recipients found in the provider's envelope headers.
import { allAddresses, type Header, headerValues, normalizeAddress } from '../message/headers.js';
import type { RecipientRecord } from '../store/types.js';

export interface CatchAllRule {
  domains: string[];
  rewriteDomain?: string;
  fallback: string;
  headers?: string[];
}

export interface RouteInput {
  deliverTo?: string[];
  catchAll?: CatchAllRule;
}

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
const VISIBLE_HEADERS = ['To', 'Cc', 'Resent-To'];

export function route(input: RouteInput, headers: Header[]): RecipientRecord[] {
  if (!input.catchAll) {
    return (input.deliverTo ?? []).map((address) => ({
      address,
      status: 'pending',
      reason: 'fixed recipient of this mailbox (deliverTo)',
    }));
  }
  return routeCatchAll(input.catchAll, headers);
}

function routeCatchAll(rule: CatchAllRule, headers: Header[]): RecipientRecord[] {
  const domains = new Set(rule.domains.map((d) => d.toLowerCase()));
  const order = rule.headers ?? DEFAULT_ENVELOPE_HEADERS;
  const found = new Map<string, string>();
  const accept = (address: string, via: string) => {
    const a = normalizeAddress(address);
    const at = a.lastIndexOf('@');
    const domain = a.slice(at + 1);
    if (at < 1 || !domains.has(domain)) return;
    const target = rule.rewriteDomain ? `${a.slice(0, at)}@${rule.rewriteDomain.toLowerCase()}` : a;
    if (found.has(target)) return;
    const rewrite = rule.rewriteDomain ? ` → ${target} via rewriteDomain` : '';
    found.set(target, `${via}: ${a}${rewrite}`);
  };
  for (const name of order) {
    const values = headerValues(headers, name);
    if (name.toLowerCase() === 'received') {
      // Only the provider's own topmost hop is trusted: deeper `for` clauses came with the message.
      const top = values[0];
      const m = top && /\bfor\s+<?([^\s<>;]+@[^\s<>;]+)>?/i.exec(top);
      if (m) accept(m[1]!, 'Received for');
    } else {
      for (const v of values) for (const a of allAddresses(v)) accept(a, name);
    }
    if (found.size > 0) break;
  }
  if (found.size === 0) {
    for (const name of VISIBLE_HEADERS) {
      for (const v of headerValues(headers, name)) for (const a of allAddresses(v)) accept(a, name);
    }
  }
  if (found.size === 0) {
    return [
      {
        address: rule.fallback,
        status: 'pending',
        reason: `no recipient in ${[...domains].join(', ')} found in the headers: fallback`,
      },
    ];
  }
  return [...found].map(([address, reason]) => ({ address, status: 'pending', reason }));
}
