// What a receive connector answers to RCPT TO: accepted, unknown in an authoritative domain (5.1.1),
// or not a domain of ours at all (5.7.54, never an open relay). Pure, so it is table-tested.
import type { AcceptedDomain } from '../config/schema-receive.js';

export type RcptVerdict = { ok: true; address: string } | { ok: false; code: number; message: string };

// Local parts that are safe as a Maildir folder name and in logs: RFC 5322 dot-atom characters, no
// leading dot, no "..". Quoted local parts ("a b"@x) are refused rather than escaped.
const SAFE_LOCAL = /^[A-Za-z0-9!#$%&'*+=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+=?^_`{|}~-]+)*$/;

export class RecipientPolicy {
  private readonly domains = new Map<string, Set<string> | null>();

  constructor(accepted: readonly AcceptedDomain[]) {
    for (const d of accepted) {
      this.domains.set(d.domain, d.recipients ? new Set(d.recipients) : null);
    }
  }

  /** The verdict for one RCPT TO address (as the client wrote it, without angle brackets). */
  check(raw: string): RcptVerdict {
    const address = raw.trim();
    const at = address.lastIndexOf('@');
    const local = at > 0 ? address.slice(0, at) : '';
    const domain = at > 0 ? address.slice(at + 1).toLowerCase() : '';
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
    const normalized = `${local}@${domain}`.toLowerCase();
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
