// The filter step between spool and delivery: scan once, store the verdict with the message, then let
// delivery go on (tagged, or redirected), quarantine, or defer while a scanner is down. Mail is never
// deleted for a verdict: the worst is quarantine.
import type { DeliveryContext } from '../delivery/attempt.js';
import type { PostboteError } from '../errors.js';
import { parseHeaders } from '../message/headers.js';
import type { MessageRecord } from '../store/types.js';
import { smtpClient } from './client-ip.js';
import { type FilterSet, scanAll } from './scan.js';
import { FILTER_REASON_PREFIX } from './types.js';
import { decide } from './verdict.js';

export type FilterOutcome =
  /** Go on with delivery: the record carries the verdict (and the redirected recipients). */
  | { kind: 'deliver'; record: MessageRecord }
  /** Quarantined for its verdict. */
  | { kind: 'final'; record: MessageRecord }
  /** A scanner with onError: defer is down: nothing recorded, the message waits like for the target. */
  | { kind: 'defer'; error: PostboteError };

// Postmaster notices (delivery/notice.ts NOTICE_UID_PREFIX) are Postbote's own words: never scanned.
const NOTICE_UID_PREFIX = 'notice:';

export function needsFiltering(record: MessageRecord): boolean {
  return !record.filter && !record.uid.startsWith(NOTICE_UID_PREFIX);
}

export async function filterStep(
  ctx: Pick<DeliveryContext, 'spool' | 'store' | 'now' | 'logger' | 'hostname'>,
  set: FilterSet,
  record: MessageRecord,
  mailboxUser: string,
): Promise<FilterOutcome> {
  const key = record.spoolKey as string;
  const pending = record.recipients.filter((r) => r.status === 'pending').map((r) => r.address);
  // Only the header block is read for this, not the message.
  const client = smtpClient(parseHeaders(await ctx.spool.header(key)));
  const scan = await scanAll(set, {
    open: () => ctx.spool.open(key),
    size: record.size,
    envelope: { from: record.sender, rcpt: pending, ...client, queueId: key, user: mailboxUser },
  });
  if (scan.kind === 'unavailable') {
    // A virus found by another scanner is reason enough: quarantine does not need the missing one.
    if (!scan.results.some((r) => r.status === 'infected')) return { kind: 'defer', error: scan.error };
  }
  const verdict = decide(scan.results, set.config, ctx.now());
  let recipients = record.recipients;
  if (verdict.action === 'redirect' && set.config.spam.redirectTo) {
    const junk = set.config.spam.redirectTo;
    // The junk address replaces the pending recipients (named in its reason); not 'rerouted', which
    // would tell the postmaster as if the target had refused them.
    recipients = [
      ...record.recipients.filter((r) => r.status !== 'pending'),
      {
        address: junk,
        status: 'pending',
        reason: `spam for ${pending.join(', ')}: redirected (${verdict.summary})`,
      },
    ];
  }
  if (verdict.action === 'quarantine') {
    // Quarantined before the verdict is recorded: a crash in between leaves a quarantined record (told
    // to the postmaster), never a record with a verdict that a retry would take for "deliver".
    const reason = `${FILTER_REASON_PREFIX}${verdict.summary}`;
    if (record.spoolKey) ctx.spool.persist(record.spoolKey);
    await ctx.store.recordAttempt(
      record.id,
      {
        state: 'quarantined',
        recipients,
        nextAttemptAt: null,
        reason,
        spoolKey: record.spoolKey,
        countsAsAttempt: false,
      },
      { at: ctx.now(), outcome: 'quarantined', detail: reason, recipients: [] },
    );
  }
  const filtered = await ctx.store.recordFilter(record.id, verdict, recipients);
  ctx.logger.info(
    { id: record.id, uid: record.uid, verdict: verdict.verdict, action: verdict.action },
    `filter: ${verdict.summary}`,
  );
  return verdict.action === 'quarantine'
    ? { kind: 'final', record: filtered }
    : { kind: 'deliver', record: filtered };
}
