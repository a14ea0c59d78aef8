// Reads the envelope recipients a provider wrote into the header, trusting only the provider's own
// block at the top: headers carried inside forwarded mail name someone else's envelope.
//
// The rule: walk the header top-down. The first Received header with a qualified `by` host names
// the provider's domain (its registrable part). The first later Received written `by` a host of
// another domain is foreign: the provider's block ends there, and nothing below it is trusted.
// Within the block each envelope header counts only in its first run: once a Received header
// follows it, further copies of it belong to an earlier delivery (a redelivery or forward).
import { type Mailbox, parseAddressList } from '../message/address.js';
import type { Header } from '../message/headers.js';

export interface EnvelopeCandidate {
  mailbox: Mailbox;
  /** The header as configured ('Delivered-To', 'Received' …). */
  header: string;
  /** The provider host that wrote it, when known (`by` of the Received just below, or its own). */
  host?: string;
}

export interface TrustedBlock {
  /** Index (into the headers) of the first foreign Received header; headers.length when none. */
  end: number;
  /** The provider's registrable domain, when a Received header named it. */
  providerDomain?: string;
}

const BY_HOST = /\bby\s+([^\s;()]+)/i;
const FOR_CLAUSE = /\bfor\s+(<[^>]*>|[^\s;<>]+@[^\s;<>]+)/i;

export function receivedBy(value: string): string | undefined {
  const m = BY_HOST.exec(value);
  return m ? m[1]!.toLowerCase().replace(/\.$/, '') : undefined;
}

/**
 * The registrable part of a host name, by the usual heuristic (no public suffix list): the last two
 * labels, or three when the second-level label is a short generic one under a country code (co.uk).
 * IP literals and unqualified names have none: internal hops never end the provider's block.
 */
export function registrableDomain(host: string): string | undefined {
  if (/^\[|^[\d.]+$|:/.test(host) || !host.includes('.')) return undefined;
  const labels = host.split('.');
  const tld = labels.at(-1)!;
  const second = labels.at(-2)!;
  const take = tld.length === 2 && second.length <= 3 && labels.length > 2 ? 3 : 2;
  return labels.slice(-take).join('.');
}

export function trustedBlock(headers: Header[]): TrustedBlock {
  let providerDomain: string | undefined;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (h.name !== 'received') continue;
    const by = receivedBy(h.value);
    const domain = by && registrableDomain(by);
    if (!domain) continue;
    if (providerDomain === undefined) providerDomain = domain;
    else if (domain !== providerDomain) return { end: i, providerDomain };
  }
  return { end: headers.length, providerDomain };
}

/** The candidates one configured header yields inside the trusted block, in order. */
export function candidatesOf(headers: Header[], block: TrustedBlock, header: string): EnvelopeCandidate[] {
  const name = header.toLowerCase();
  const out: EnvelopeCandidate[] = [];
  if (name === 'received') {
    // The provider's own hops: the first one with a `for` clause names the envelope recipient.
    for (let i = 0; i < block.end; i++) {
      const h = headers[i]!;
      if (h.name !== 'received') continue;
      const m = FOR_CLAUSE.exec(h.value);
      if (!m) continue;
      const by = receivedBy(h.value);
      for (const mailbox of parseAddressList(m[1]!))
        out.push({ mailbox, header, ...(by ? { host: by } : {}) });
      return out;
    }
    return out;
  }
  let seen = false;
  for (let i = 0; i < block.end; i++) {
    const h = headers[i]!;
    if (h.name === 'received' && seen) break;
    if (h.name !== name) continue;
    seen = true;
    const host = hostBelow(headers, i, block.end);
    for (const mailbox of parseAddressList(h.value)) out.push({ mailbox, header, ...(host ? { host } : {}) });
  }
  return out;
}

/** Whether the header occurs in the trusted block at all (with or without a usable address). */
export function presentIn(headers: Header[], block: TrustedBlock, header: string): boolean {
  const name = header.toLowerCase();
  if (name === 'received') return candidatesOf(headers, block, header).length > 0;
  return headers.slice(0, block.end).some((h) => h.name === name);
}

function hostBelow(headers: Header[], from: number, end: number): string | undefined {
  for (let i = from + 1; i < end; i++) {
    const h = headers[i]!;
    if (h.name === 'received') return receivedBy(h.value);
  }
  return undefined;
}
