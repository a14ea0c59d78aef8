// What the service tells an admin: one line per message when its fate is decided, one per pass with
// everything that went wrong beside the good counts. Pure functions, so the wording is tested directly.
import type { PassSummary } from '../connector/mailbox-pass.js';
import { clip } from '../log.js';
import type { MessageRecord, StoredReply } from '../store/types.js';

/** Recipients named in one line; a catch-all message for a whole company would otherwise fill a screen. */
const MAX_LOGGED_RECIPIENTS = 20;

export type MessageOutcome = 'delivered' | 'deferred' | 'quarantined' | 'rerouted' | 'duplicate' | 'deleted';

export interface LogLine {
  fields: Record<string, unknown>;
  msg: string;
}

export function messageOutcome(record: MessageRecord): MessageOutcome {
  switch (record.state) {
    case 'delivered':
      return record.recipients.some((r) => r.status === 'rerouted') ? 'rerouted' : 'delivered';
    case 'spooled':
      return 'deferred'; // the target refused Postbote itself: the message waits untouched
    default:
      return record.state;
  }
}

/** The target's replies that decided the message, each once (one transaction's queue id). */
function replies(record: MessageRecord): string {
  const seen = new Set<string>();
  for (const r of record.recipients) if (r.reply) seen.add(describe(r.reply));
  return [...seen].join('; ');
}

function describe(reply: StoredReply): string {
  return `${reply.code}${reply.enhanced ? ` ${reply.enhanced}` : ''} ${reply.text}`;
}

/**
 * `message 17 (<id@x>) from a@b to c@d: delivered, 250 2.0.0 Ok: queued as 4Xyz (2 KB, 35 ms)`, with
 * the same facts as fields. Everything that came from outside is clipped and escaped.
 */
export function messageLine(record: MessageRecord, ms: number): LogLine {
  const outcome = messageOutcome(record);
  const to = record.recipients.slice(0, MAX_LOGGED_RECIPIENTS).map((r) => clip(r.address));
  const more = record.recipients.length - to.length;
  const reply = clip(replies(record));
  const reason = outcome === 'delivered' ? '' : clip(record.reason);
  const fields: Record<string, unknown> = {
    mailbox: record.mailbox,
    uid: clip(record.uid),
    messageId: clip(record.messageId),
    from: clip(record.sender),
    to: more > 0 ? [...to, `… ${more} more`] : to,
    size: record.size,
    outcome,
    ...(reply ? { reply } : {}),
    ...(reason ? { reason } : {}),
    ms,
  };
  const id = record.messageId ? ` <${fields.messageId}>` : '';
  const detail = [reply, reason && reason !== reply ? reason : ''].filter(Boolean).join('; ');
  const msg =
    `${record.mailbox}: message ${fields.uid}${id} from <${fields.from}> to ${(fields.to as string[]).join(', ') || '(nobody)'}: ` +
    `${outcome}${detail ? `, ${detail}` : ''} (${record.size} bytes, ${ms} ms)`;
  return { fields, msg };
}

/** `mailbox info: 3 fetched, 2 delivered, 1 deferred, 1 quarantined, 0 removed; error: …`. */
export function passLine(s: PassSummary, retry = false): LogLine {
  const counts = retry
    ? [`${s.delivered} delivered`]
    : [`${s.listed} listed`, `${s.fetched} fetched`, `${s.delivered} delivered`];
  if (s.deferred > 0) counts.push(`${s.deferred} deferred`);
  if (s.quarantined > 0) counts.push(`${s.quarantined} quarantined`);
  if (!retry) counts.push(`${s.removed} removed`);
  if (s.pending > 0) counts.push(`${s.pending} waiting for delivery`);
  const error = s.error ? `; ${clip(s.error.describe(), 1000)}` : '';
  return {
    fields: {
      mailbox: s.mailbox,
      ...(retry ? { retry: true } : { listed: s.listed, fetched: s.fetched, removed: s.removed }),
      delivered: s.delivered,
      deferred: s.deferred,
      quarantined: s.quarantined,
      pending: s.pending,
      ok: s.ok,
      ...(s.error ? { code: s.error.code } : {}),
      ms: s.endedAt - s.startedAt,
    },
    msg: `mailbox ${s.mailbox}${retry ? ' retry' : ''}: ${counts.join(', ')}${error}`,
  };
}
