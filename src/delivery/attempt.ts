// One delivery attempt of a spooled message: hand it to the target, read each recipient's reply,
// and decide — delivered, deferred with backoff, rerouted to the fallback, or quarantined.
// A target that refuses Postbote itself changes nothing about the message.
import { Readable } from 'node:stream';
import { isPostboteError, PostboteError, toPostboteError } from '../errors.js';
import { headerRewriter } from '../filters/header-rewrite.js';
import { classifyRefusal } from '../smtp/refusal.js';
import type { RecipientReply } from '../smtp/types.js';
import { headersAre8Bit, messageHeadersAre8Bit } from '../smtp/utf8.js';
import { MAX_HEADER_BYTES } from '../spool/header-capture.js';
import type { MessageRecord, RecipientRecord, StoredReply } from '../store/types.js';
import { finish, quarantineUnsent } from './outcome.js';
import { receivedHeader } from './received.js';
import { applyReplies } from './recipient-replies.js';
import { classifySendFailure, connectorRefusedError } from './send-failure.js';
import type { AttemptOutcome, DeliveryContext, MessageOrigin, SpooledHints } from './types.js';

// The entry point of delivery: its types and helpers live beside it and are re-exported from here.
export { backoff } from './outcome.js';
export { classifySendFailure } from './send-failure.js';
export type { AttemptOutcome, DeliveryContext, MessageOrigin, RetryPolicy, SpooledHints } from './types.js';

/**
 * Rerouting to the fallback happens in the same attempt; this bounds it (original try + fallback).
 * Only a recipient added by that rerouting may start the second transaction: one that got 4xx waits
 * for its backoff, as Postfix's queue manager does, instead of having the data sent again at once.
 */
const MAX_TRANSACTIONS_PER_ATTEMPT = 2;

export async function attemptDelivery(
  ctx: DeliveryContext,
  origin: MessageOrigin,
  initial: MessageRecord,
  hints: SpooledHints = {},
): Promise<AttemptOutcome> {
  let record = initial;
  const key = record.spoolKey;
  if (!key) throw new PostboteError('SPOOL', `message ${record.id} has no spool file`, { temporary: false });
  // The filter step is loaded with the first filtered message: a fetch without filters never needs it.
  const step = origin.filters ? await import('../filters/step.js') : undefined;
  if (origin.filters && step?.needsFiltering(record)) {
    const filtered = await step.filterStep(ctx, origin.filters, record, origin.mailboxUser ?? '');
    if (filtered.kind === 'final') return filtered;
    if (filtered.kind === 'defer') {
      // Like a target that is down: the message waits with backoff, the pass stops and names the scanner.
      const deferred = await finish(ctx, record, record.recipients, [], undefined, filtered.error);
      return deferred.kind === 'final'
        ? deferred
        : { kind: 'target-unavailable', record: deferred.record, error: filtered.error };
    }
    record = filtered.record;
  }
  let recipients = record.recipients.map((r) => ({ ...r }));
  const log: Array<{ address: string; reply?: StoredReply }> = [];
  let tooLarge: StoredReply | undefined;

  // Who the next transaction is for: first every pending recipient, then only the fallback just added.
  let pending = recipients.filter((r) => r.status === 'pending');
  // RFC 6532 headers need SMTPUTF8 on every transaction of this message: from the header block captured
  // while spooling when it is whole (below the capture's cap), else read once from the spool.
  const utf8 =
    hints.header && hints.header.length < MAX_HEADER_BYTES
      ? headersAre8Bit(hints.header)
      : await messageHeadersAre8Bit(ctx.spool.open(key));
  for (let round = 0; round < MAX_TRANSACTIONS_PER_ATTEMPT && pending.length > 0; round++) {
    let replies: RecipientReply[];
    try {
      replies = await sendOnce(ctx, origin, record, key, pending, utf8);
    } catch (err) {
      const error = isPostboteError(err) ? err : toPostboteError(err, ctx.target.where);
      if (error.code === 'SMTP_UTF8_UNSUPPORTED') {
        // RFC 6857: refused rather than downgraded; it is this message, not the target, so quarantine it.
        ctx.target.setHealth('ok');
        return quarantineUnsent(ctx, record, recipients, log, error);
      }
      const fault = classifySendFailure(error);
      if (fault === 'message') {
        // Retrying cannot help and the target did nothing wrong: the message goes to quarantine now.
        if (round > 0) break;
        return finish(ctx, record, recipients, log, undefined, undefined, error);
      }
      const refusing = fault === 'connector';
      ctx.target.setHealth(refusing ? 'refusing' : 'down', error);
      if (round > 0) break; // the first transaction's results stand; the rest stays pending
      if (refusing) return { kind: 'target-unavailable', record, error };
      const deferred = await finish(ctx, record, recipients, log, undefined, error);
      return deferred.kind === 'final'
        ? deferred
        : { kind: 'target-unavailable', record: deferred.record, error };
    }
    const refusal = classifyRefusal(replies);
    if (refusal === 'client-refused') {
      const error = connectorRefusedError(ctx.target, replies);
      ctx.target.setHealth('refusing', error);
      if (round > 0) break;
      return { kind: 'target-unavailable', record, error };
    }
    ctx.target.setHealth('ok');
    const before = recipients.length;
    recipients = applyReplies(recipients, replies, origin.fallback, log, (reply) => {
      tooLarge = reply;
    });
    if (tooLarge) break;
    pending = recipients.slice(before);
  }
  return finish(ctx, record, recipients, log, tooLarge);
}

async function sendOnce(
  ctx: DeliveryContext,
  origin: MessageOrigin,
  record: MessageRecord,
  key: string,
  pending: RecipientRecord[],
  utf8: boolean,
): Promise<RecipientReply[]> {
  const to = pending.map((r) => r.address);
  const trace = Buffer.from(
    receivedHeader({
      from: origin.server,
      by: ctx.hostname,
      protocol: origin.protocol,
      secure: origin.secure,
      id: key,
      recipients: to,
      date: new Date(ctx.now()),
    }),
  );
  // A filtered message: the verdict's fields below the trace, forged ones dropped from the original
  // while it streams (the spool keeps the bytes as fetched).
  const edits = record.filter?.edits;
  const added = Buffer.from(edits ? edits.add.join('') : '', 'utf8');
  const body = () =>
    Readable.from(
      (async function* () {
        yield trace;
        if (added.length > 0) yield added;
        yield* edits ? ctx.spool.open(key).pipe(headerRewriter(edits)) : ctx.spool.open(key);
      })(),
      { objectMode: false },
    );
  const prefix = edits?.subjectPrefix ? Buffer.byteLength(edits.subjectPrefix) : 0;
  const result = await ctx.target.send(
    {
      from: record.sender,
      to,
      size: record.size + trace.length + added.length + prefix,
      eightBit: true,
      utf8,
    },
    body,
  );
  return result.recipients;
}
