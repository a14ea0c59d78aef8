// The routing decision for one message: loop check, envelope routing, then the mailbox's rules, with
// a fingerprint for duplicate suppression and a trace of every step. Pure: no store, no I/O.
import { createHash } from 'node:crypto';
import { hasOwnTrace } from '../delivery/received.js';
import { firstAddress, firstHeader, type Header, headerValues } from '../message/headers.js';
import { RecipientMapper } from './recipients.js';
import { routeDetailed } from './route.js';
import { applyRules } from './rules.js';
import type { Decision, RouteInput } from './types.js';

export interface DecisionInput {
  route: RouteInput;
  headers: Header[];
  /** Size in bytes (spooled, or as the server lists it). */
  size: number;
  /** Envelope sender as it will be used. */
  sender: string;
  attachments?: string[];
  mailboxUser: string;
  provider: string;
  maxReceivedHeaders: number;
  /** This host's name, as Postbote writes it into its Received header. */
  hostname: string;
  /** Digest of the message without its path's fields (spool/content-digest.ts), for duplicates. */
  contentDigest?: string;
}

// Without a content digest (`postbote route` reads headers only): the headers that identify a message
// without a Message-ID and are the same in every provider copy.
const FINGERPRINT_HEADERS = ['from', 'to', 'cc', 'date', 'subject', 'in-reply-to', 'references'];

export function decide(input: DecisionInput): Decision {
  const { headers } = input;
  const trace: string[] = [];
  const fingerprint = messageFingerprint(headers, input.contentDigest);
  const routed = routeDetailed(input.route, headers, {
    mailboxUser: input.mailboxUser,
    provider: input.provider,
  });
  let recipients = routed.recipients;
  for (const r of recipients) trace.push(`${r.address}: ${r.reason}`);

  let quarantine = loopReason(headers, input.maxReceivedHeaders, input.hostname);
  if (quarantine) trace.push(quarantine);

  const rules = input.route.rules ?? [];
  if (!quarantine && rules.length > 0) {
    const catchAll = input.route.catchAll;
    const mapper = catchAll ? new RecipientMapper(catchAll) : undefined;
    const envelope = [...recipients.map((r) => r.address), ...routed.envelope];
    const outcome = applyRules(
      rules,
      {
        sender: input.sender,
        recipients: [...new Set(envelope)],
        headers,
        size: input.size,
        ...(input.attachments ? { attachments: input.attachments } : {}),
      },
      recipients,
      (a) => (mapper ? mapper.mapConfigured(a) : [a]),
    );
    recipients = outcome.recipients;
    trace.push(...outcome.trace);
    quarantine = outcome.quarantine;
  }
  return { recipients, fingerprint, trace, ...(quarantine ? { quarantine } : {}) };
}

/**
 * What makes two fetched messages copies of one: the Message-ID *and* the content digest (`mid:<id>
 * sum:<digest>`, or `sum:<digest>` without a Message-ID). Some mailers give different messages one
 * Message-ID (newsletters, shop and ticket systems), so the ID alone would drop a different message;
 * the digest leaves out only what the path added, so one message arriving by two paths still matches.
 * Without a digest: `mid:<id>`, else `hdr:` and a hash of the identifying headers.
 */
export function messageFingerprint(headers: Header[], contentDigest?: string): string {
  const id = firstAddress(firstHeader(headers, 'message-id'));
  if (contentDigest) return id ? `mid:${id} sum:${contentDigest}` : `sum:${contentDigest}`;
  if (id) return `mid:${id}`;
  const hash = createHash('sha256');
  for (const name of FINGERPRINT_HEADERS) {
    for (const v of headerValues(headers, name)) hash.update(`${name}:${v.replace(/\s+/g, ' ').trim()}\n`);
  }
  return `hdr:${hash.digest('hex')}`;
}

/** More Received headers than the limit, or Postbote's own trace already present: a loop. */
export function loopReason(headers: Header[], limit: number, hostname: string): string | undefined {
  const received = headerValues(headers, 'received');
  if (received.length > limit) {
    return `mail loop suspected: ${received.length} Received headers (limit ${limit}, delivery.maxReceivedHeaders)`;
  }
  if (hasOwnTrace(received, hostname))
    return `mail loop: Postbote (${hostname}) already handled this message`;
  return undefined;
}
