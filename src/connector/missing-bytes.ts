// Phase A's question before a retry: are the record's bytes here? The local spool file, else the
// copy every instance can read (a PostgreSQL state). Neither: a record whose provider still has the
// message is dropped and fetched again (a power cut's short file); one whose provider copy is gone
// (DELE done after a quarantine, no longer listed, or Postbote's own notice) is never dropped for
// that: it is set aside as quarantined, naming the missing file, for a person to restore.
import type { DeliveryContext } from '../delivery/attempt.js';
import { NOTICE_UID_PREFIX } from '../delivery/notice.js';
import { PostboteError, toPostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import type { MessageRecord } from '../store/types.js';

export type BytesVerdict =
  /** The spool holds the intact bytes (maybe just materialised from the shared store). */
  | { kind: 'ready' }
  /** Gone here, still at the provider: the record was discarded, the listing fetches it again. */
  | { kind: 'refetch' }
  /** The shared store could not be asked now: left as it is for the next pass. */
  | { kind: 'skip'; error: PostboteError }
  /** Gone everywhere and not at the provider: quarantined with the reason, never deleted. */
  | { kind: 'set-aside'; record: MessageRecord; error: PostboteError };

/** Whether the provider may still hold the message, so that fetching it again can restore it. */
export function providerMayHaveIt(rec: MessageRecord): boolean {
  return rec.sourceRemovedAt === null && rec.detachedAt == null && !rec.uid.startsWith(NOTICE_UID_PREFIX);
}

export async function bytesForRetry(
  ctx: DeliveryContext,
  rec: MessageRecord,
  log: Logger,
): Promise<BytesVerdict> {
  const key = rec.spoolKey!;
  let found: Awaited<ReturnType<DeliveryContext['spool']['ensure']>>;
  try {
    found = await ctx.spool.ensure(key, rec.size, rec.sha256);
  } catch (err) {
    const error = toPostboteError(err, 'the shared message store');
    log.warn(
      { uid: rec.uid, key, err: error.toJSON() },
      `message ${rec.id}: its bytes cannot be fetched now`,
    );
    return { kind: 'skip', error };
  }
  if (found.ok) {
    if (found.from === 'shared')
      log.info({ uid: rec.uid, key }, `message ${rec.id}: bytes fetched from the shared store`);
    return { kind: 'ready' };
  }
  if (providerMayHaveIt(rec)) {
    // Beside other instances this is a takeover (an instance that spooled it stopped before delivering),
    // not a fault of this disk.
    if (ctx.spool.shared)
      log.warn({ uid: rec.uid, key }, `message ${rec.id}: bytes not here (${found.why}): fetching it again`);
    else if (rec.state === 'spooled' && !ctx.spool.has(key))
      // A small message is filed only when it must outlive its delivery (spool.ts): the process
      // stopped (a crash) while it was with the target. Nothing is wrong with this disk.
      log.info(
        { uid: rec.uid, key },
        `message ${rec.id}: not delivered before the last stop: fetching it again`,
      );
    else log.error({ uid: rec.uid, key }, `spool file damaged or missing (${found.why}): fetching it again`);
    await ctx.store.discard(rec.id);
    await ctx.spool.remove(key); // after the record: a crash between leaves an orphan, swept
    return { kind: 'refetch' };
  }
  const reason =
    `its bytes are missing (${found.why}) and the provider no longer has it: needs action, restore the ` +
    `spool file ${key} into ${ctx.spool.dir}/msg/ (from a backup, or the instance that fetched it), then release it`;
  const error = new PostboteError('SPOOL', `message ${rec.id}: ${reason}`, { temporary: false });
  log.error({ uid: rec.uid, key }, `message ${rec.id}: ${reason}`);
  const record = await ctx.store.recordAttempt(
    rec.id,
    {
      state: 'quarantined',
      recipients: rec.recipients,
      nextAttemptAt: null,
      reason,
      spoolKey: key,
      countsAsAttempt: false,
      expect: rec.state,
    },
    { at: ctx.now(), outcome: 'quarantined', detail: reason, recipients: [] },
  );
  return { kind: 'set-aside', record, error };
}
