// What a receive connector answers to RCPT TO: accepted, unknown in an authoritative domain (5.1.1),
// not a domain of ours at all (5.7.54, never an open relay), or routed by the sender (5.7.1).
// Pure, so it is table-tested.
import { domainToASCII } from 'node:url';
import type { AcceptedDomain } from '../config/schema-receive.js';

export type RcptVerdict = { ok: true; address: string } | { ok: false; code: number; message: string };

export interface PolicyOptions {
  /** Postfix's allow_untrusted_routing: pass `%`/`!` local parts and source routes on. Off by default. */
  allowSenderRouting?: boolean;
}

// Local parts that are safe as a Maildir folder name and in logs: RFC 5322 dot-atom characters, no
// leading dot, no "..". Quoted local parts ("a b"@x) are refused rather than escaped.
const SAFE_LOCAL = /^[A-Za-z0-9!#$%&'*+=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+=?^_`{|}~-]+)*$/;
// `user%other@ours` (the percent hack) and `other!user@ours` (a UUCP bang path) ask the next hop to
// relay on to `other`: a server that still honours them (sendmail, older Exchange) makes us a relay.
const ROUTING_LOCAL = /[%!]/;
// `<@relay.example,@b.example:user@ours>`: RFC 5321 appendix C's source route, which smtp-server strips
// before onRcptTo sees the address, so the raw command is checked.
const SOURCE_ROUTE = /^\s*RCPT\s+TO\s*:\s*<\s*@[^<>:]*:/i;

/** True when a raw RCPT TO command carries a source route (`<@a,@b:user@domain>`). */
export function hasSourceRoute(command: string): boolean {
  return SOURCE_ROUTE.test(command);
}

/**
 * One form per domain for matching and for folder names and next-hop envelopes: lower-case A-labels
 * (`BÜCHER.example` and `xn--bcher-kva.example` are both `xn--bcher-kva.example`). A domain IDNA
 * refuses stays as written, lower-cased, so it simply matches nothing it should not.
 */
export function canonicalDomain(domain: string): string {
  return domainToASCII(domain) || domain.toLowerCase();
}

function canonicalAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return `${address.slice(0, at).toLowerCase()}@${canonicalDomain(address.slice(at + 1))}`;
}

export class RecipientPolicy {
  private readonly domains = new Map<string, Set<string> | null>();
  private readonly allowSenderRouting: boolean;

  constructor(accepted: readonly AcceptedDomain[], options: PolicyOptions = {}) {
    for (const d of accepted) {
      this.domains.set(
        canonicalDomain(d.domain),
        d.recipients ? new Set(d.recipients.map(canonicalAddress)) : null,
      );
    }
    this.allowSenderRouting = options.allowSenderRouting ?? false;
  }

  /**
   * The verdict for one RCPT TO address (as the client wrote it, without angle brackets);
   * `sourceRouted` when the command carried a source route that smtp-server removed.
   */
  check(raw: string, sourceRouted = false): RcptVerdict {
    const address = raw.trim();
    const at = address.lastIndexOf('@');
    const local = at > 0 ? address.slice(0, at) : '';
    const domain = at > 0 ? canonicalDomain(address.slice(at + 1)) : '';
    if (!SAFE_LOCAL.test(local) || domain === '' || local.length > 64) {
      return { ok: false, code: 553, message: `5.1.3 <${printable(address)}>: bad recipient address syntax` };
    }
    if (!this.domains.has(domain)) {
      return {
        ok: false,
        code: 550,
        message: `5.7.54 Unable to relay: ${printable(domain)} is not an accepted domain of this connector`,
      };
    }
    // Refused like Postfix with allow_untrusted_routing = no (its "Relay access denied", 5.7.1).
    if (!this.allowSenderRouting && (sourceRouted || ROUTING_LOCAL.test(local))) {
      return {
        ok: false,
        code: 550,
        message: `5.7.1 <${printable(address)}>: Relay access denied (sender-specified routing)`,
      };
    }
    const normalized = `${local.toLowerCase()}@${domain}`;
    const known = this.domains.get(domain);
    if (known && !known.has(normalized)) {
      return { ok: false, code: 550, message: `5.1.1 <${printable(normalized)}>: recipient unknown` };
    }
    return { ok: true, address: normalized };
  }
}

/** Client-supplied text in a reply or log line: control characters out, length capped. */
function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 256);
}
