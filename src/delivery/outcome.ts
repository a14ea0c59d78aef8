// The end of an attempt: the recipients' results become the message's state (delivered, deferred
// with backoff, quarantined with the reason), committed to the store before the spool file goes.
import { type PostboteError, toPostboteError } from '../errors.js';
import type { MessageRecord, RecipientRecord, StoredReply } from '../store/types.js';
import { describeReply } from './recipient-replies.js';
import type { AttemptOutcome, DeliveryContext, RetryPolicy } from './types.js';

export async function finish(
  ctx: DeliveryContext,
  record: MessageRecord,
  recipients: RecipientRecord[],
  log: Array<{ address: string; reply?: StoredReply }>,
  tooLarge: StoredReply | undefined,
  error?: PostboteError,
  /** A permanent error about this message itself: quarantined now, without waiting for expiry. */
  hopeless?: PostboteError,
): Promise<AttemptOutcome> {
  const now = ctx.now();
  const pending = recipients.filter((r) => r.status === 'pending');
  const refused = recipients.filter((r) => r.status === 'refused');
  const attempts = record.attempts + 1;
  const expired = now - record.fetchedAt >= ctx.retry.expireAfter;
  let state: MessageRecord['state'];
  let reason: string | null = null;
  if (hopeless) {
    state = 'quarantined';
    reason = `cannot be delivered: ${hopeless.describe()}`;
  } else if (tooLarge) {
    state = 'quarantined';
    reason = `too large for the target: ${describeReply(tooLarge)}`;
  } else if (pending.length > 0 && !expired) {
    state = 'deferred';
    reason = error ? error.describe() : `temporary failure: ${pendingReasons(pending)}`;
  } else if (pending.length > 0) {
    state = 'quarantined';
    reason = `still failing temporarily after ${Math.round(ctx.retry.expireAfter / 3_600_000)} h: ${pendingReasons(pending)}`;
  } else if (refused.length > 0) {
    state = 'quarantined';
    reason = `refused: ${refused.map((r) => `${r.address}: ${describeReply(r.reply)}`).join('; ')}`;
  } else {
    state = 'delivered';
  }
  const nextAttemptAt = state === 'deferred' ? now + backoff(ctx.retry, attempts) : null;
  if (state !== 'delivered') await shareBytes(ctx, record);
  const updated = await ctx.store.recordAttempt(
    record.id,
    {
      state,
      recipients,
      nextAttemptAt,
      reason,
      spoolKey: state === 'delivered' ? null : record.spoolKey,
      countsAsAttempt: true,
      // Guarded: if another writer (an admin, another instance) changed the record meanwhile, this fails.
      expect: record.state,
    },
    { at: now, outcome: state, detail: reason ?? 'accepted for every recipient', recipients: log },
  );
  // Only after the store committed: the bytes are no longer needed.
  if (state === 'delivered' && record.spoolKey) await ctx.spool.remove(record.spoolKey);
  if (state === 'deferred') return { kind: 'deferred', record: updated, error };
  return { kind: 'final', record: updated };
}

/** A message Postbote will not send to this target as it is: quarantined with the reason, bytes kept. */
export async function quarantineUnsent(
  ctx: DeliveryContext,
  record: MessageRecord,
  recipients: RecipientRecord[],
  log: Array<{ address: string; reply?: StoredReply }>,
  error: PostboteError,
): Promise<AttemptOutcome> {
  const reason = `${error.message}${error.hint ? ` (${error.hint})` : ''}`;
  ctx.logger.warn({ id: record.id, uid: record.uid }, reason);
  await shareBytes(ctx, record);
  const updated = await ctx.store.recordAttempt(
    record.id,
    {
      state: 'quarantined',
      recipients,
      nextAttemptAt: null,
      reason,
      spoolKey: record.spoolKey,
      countsAsAttempt: true,
    },
    { at: ctx.now(), outcome: 'quarantined', detail: reason, recipients: log },
  );
  return { kind: 'final', record: updated };
}

/**
 * A message that outlives this attempt (deferred, quarantined) is copied where every instance can
 * read it (a PostgreSQL state; nothing for a folder state) before that state is committed. A failed
 * copy does not hold the outcome back (recipients that got it must be recorded): the message stays
 * at the provider until its copy is made (remove-at-source.ts), so a later pass can fetch it again.
 */
async function shareBytes(ctx: DeliveryContext, record: MessageRecord): Promise<void> {
  if (!record.spoolKey) return;
  try {
    await ctx.spool.retain(record.spoolKey, record.size, record.sha256);
  } catch (err) {
    const error = toPostboteError(err, 'the shared message store');
    ctx.logger.error(
      { id: record.id, uid: record.uid, err: error.toJSON() },
      `message ${record.id}: its bytes could not be copied to the shared store: ${error.describe()}`,
    );
  }
}

export function backoff(retry: RetryPolicy, attempts: number): number {
  return Math.min(retry.max, retry.initial * 2 ** Math.max(0, attempts - 1));
}

function pendingReasons(pending: RecipientRecord[]): string {
  return pending.map((r) => `${r.address}: ${describeReply(r.reply)}`).join('; ');
}
