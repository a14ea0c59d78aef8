// Postmaster notices: when mail is quarantined or rerouted to a fallback because the target refused it,
// the postmaster is told what, why and in the server's words. A notice is spooled and recorded like a
// fetched message, so it survives crashes and waits out a target that is down.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { FILTER_REASON_PREFIX } from '../filters/types.js';
import { displayHeader } from '../message/display.js';
import { encodeHeaderField } from '../message/encoded-word.js';
import type { MessageRecord } from '../store/types.js';
import { type AttemptOutcome, attemptDelivery, type DeliveryContext } from './attempt.js';
import { rfc5322Date } from './received.js';

/** Notices carry this uid prefix; a notice about a notice is never sent (no loops). */
export const NOTICE_UID_PREFIX = 'notice:';

export function needsNotice(record: MessageRecord): boolean {
  if (record.uid.startsWith(NOTICE_UID_PREFIX)) return false;
  // A filter's quarantine tells the postmaster only when configured so (virus.action: notify); any
  // other quarantine (a refusal, an expiry, also of filtered mail released later) always does.
  if (record.state === 'quarantined') {
    const byFilter = record.filter && record.reason?.startsWith(FILTER_REASON_PREFIX);
    return !byFilter || record.filter?.notify === true;
  }
  return record.state === 'delivered' && record.recipients.some((r) => r.status === 'rerouted');
}

export function noticeText(record: MessageRecord, hostname: string, now: Date): Buffer {
  const what = record.state === 'quarantined' ? 'quarantined' : 'delivered to the fallback recipient';
  // Decoded for people (records of older versions hold the subject as written in the header).
  const subject = record.subject === null ? null : displayHeader(record.subject);
  const lines = [
    `Postbote on ${hostname} ${what} a message from mailbox "${record.mailbox}".`,
    '',
    `  From (envelope): <${record.sender}>`,
    `  Subject:         ${subject ?? '(none)'}`,
    `  Message-ID:      ${record.messageId ? `<${record.messageId}>` : '(none)'}`,
    `  Size:            ${record.size} bytes`,
    `  Postbote id:     ${record.id} (uid ${record.uid})`,
    '',
    `Reason: ${record.reason ?? 'see the recipients below'}`,
    '',
    'Recipients:',
    ...record.recipients.map(
      (r) =>
        `  ${r.address}: ${r.status}${r.reply ? ` (${r.reply.code}${r.reply.enhanced ? ` ${r.reply.enhanced}` : ''} ${r.reply.text})` : ''}`,
    ),
    '',
    record.state === 'quarantined'
      ? 'The message is kept in the quarantine; release or delete it in the web admin.'
      : 'The message was delivered to the fallback recipient instead.',
  ];
  const id = `${Date.now().toString(36)}.${randomBytes(6).toString('hex')}@${hostname}`;
  const head = [
    `From: Postbote <postmaster@${hostname}>`,
    encodeHeaderField(
      'Subject',
      `[Postbote] message ${record.state === 'quarantined' ? 'quarantined' : 'rerouted'}: ${Array.from(
        subject ?? '',
      )
        .slice(0, 120)
        .join('')}`.trim(),
    ),
    `Date: ${rfc5322Date(now)}`,
    `Message-ID: <${id}>`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ];
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${lines.join('\r\n')}\r\n`, 'utf8');
}

/** Spools, records and tries to deliver a notice about `record` to `postmaster`. */
export async function sendNotice(
  ctx: DeliveryContext,
  origin: Parameters<typeof attemptDelivery>[1],
  postmaster: string,
  record: MessageRecord,
  /** false while shutting down: recorded and spooled (the next run delivers it), no new delivery. */
  deliver = true,
): Promise<AttemptOutcome> {
  const text = noticeText(record, ctx.hostname, new Date(ctx.now()));
  const notice = await queueNotice(ctx, {
    mailbox: record.mailbox,
    postmaster,
    text,
    subject: `Postbote notice about message ${record.id}`,
    reason: `postmaster notice for message ${record.id}`,
  });
  if (!deliver) return { kind: 'deferred', record: notice };
  return attemptDelivery(ctx, { ...origin, fallback: undefined }, notice);
}

/**
 * Spools and records Postbote's own message to the postmaster (pending, from the null sender), so it
 * survives a crash and waits out a target that is down like fetched mail. Also used by src/alerts/.
 */
export async function queueNotice(
  ctx: DeliveryContext,
  n: { mailbox: string; postmaster: string; text: Buffer; subject: string; reason: string },
): Promise<MessageRecord> {
  const spooled = await ctx.spool.write(Readable.from([n.text]), n.text.length);
  return ctx.store.addSpooled({
    mailbox: n.mailbox,
    uid: `${NOTICE_UID_PREFIX}${spooled.key}`,
    spoolKey: spooled.key,
    size: spooled.size,
    sha256: spooled.sha256,
    messageId: null,
    sender: '', // the null sender: a notice must never cause a bounce loop
    subject: n.subject,
    recipients: [{ address: n.postmaster, status: 'pending', reason: n.reason }],
    fetchedAt: ctx.now(),
  });
}
