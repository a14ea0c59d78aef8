// One pass over one mailbox: deliver what is pending from the spool, fetch what is new (spool, record,
// deliver), then remove at the source only what the store says is safe, and commit (QUIT).
import { type AttemptOutcome, attemptDelivery, type DeliveryContext } from '../delivery/attempt.js';
import { needsNotice, sendNotice } from '../delivery/notice.js';
import { isPostboteError, type PostboteError, toPostboteError } from '../errors.js';
import type { RouteInput } from '../routing/types.js';
import type { SourceMessage, SourceSession } from '../source/types.js';
import { FINAL_STATES, type MessageRecord, type SessionRecord } from '../store/types.js';
import { fetchAndDeliver, origin } from './fetch-message.js';
import { prefetched } from './prefetch.js';

const DAY_MS = 86_400_000;

export interface MailboxPlan {
  name: string;
  user: string;
  keep: boolean;
  deleteAfterDays?: number;
  maxMessageSize: number;
  maxReceivedHeaders: number;
  /** 'return-path' | 'mailbox' | '<>' (null sender) | a fixed address. */
  envelopeSender: string;
  route: RouteInput;
  fallback?: string;
  protocol: 'pop3' | 'imap';
  host: string;
  /** Whether the source session runs over TLS, for the Received header. */
  secure: boolean;
  /** Told about quarantined and rerouted mail (delivery.postmaster). */
  postmaster?: string;
  open(): Promise<SourceSession>;
}

export type PassEvent =
  | { type: 'listed'; mailbox: string; count: number; fresh: number }
  | {
      type: 'message';
      mailbox: string;
      uid: string;
      outcome: MessageRecord['state'] | 'skipped';
      bytes: number;
    };

export interface PassOptions {
  /** Retry deferred messages now regardless of their backoff (`postbote fetch`). */
  force?: boolean;
  /** Stop after the message in hand (SIGTERM). */
  signal?: AbortSignal;
  onEvent?: (event: PassEvent) => void;
}

/** A pass's counts are the session record the store keeps, plus what the caller needs to decide. */
export interface PassSummary extends Omit<SessionRecord, 'error'> {
  ok: boolean;
  /** Messages of this mailbox still waiting for delivery after the pass. */
  pending: number;
  error?: PostboteError;
}

export async function runMailboxPass(
  ctx: DeliveryContext,
  plan: MailboxPlan,
  options: PassOptions = {},
): Promise<PassSummary> {
  const s: PassSummary = {
    mailbox: plan.name,
    ok: true,
    listed: 0,
    fetched: 0,
    delivered: 0,
    deferred: 0,
    quarantined: 0,
    removed: 0,
    bytes: 0,
    pending: 0,
    startedAt: ctx.now(),
    endedAt: 0,
  };
  const log = ctx.logger.child({ mailbox: plan.name });
  const stopped = () => options.signal?.aborted === true;
  const known = await ctx.store.messagesOf(plan.name);
  let targetDown: PostboteError | undefined;

  const notices: MessageRecord[] = [];
  const count = (outcome: AttemptOutcome) => {
    known.set(outcome.record.uid, outcome.record);
    if (plan.postmaster && needsNotice(outcome.record)) notices.push(outcome.record);
    if (outcome.kind === 'target-unavailable') targetDown = outcome.error;
    if (outcome.record.state === 'delivered') s.delivered++;
    else if (outcome.record.state === 'quarantined') s.quarantined++;
    else if (outcome.kind === 'deferred') s.deferred++;
    options.onEvent?.({
      type: 'message',
      mailbox: plan.name,
      uid: outcome.record.uid,
      outcome: outcome.record.state,
      bytes: outcome.record.size,
    });
  };

  // A. What is already spooled needs no provider: deliver it first.
  for (const rec of [...known.values()]) {
    if (stopped() || targetDown) break;
    if (FINAL_STATES.has(rec.state) || rec.spoolKey === null) continue;
    if (!options.force && rec.nextAttemptAt !== null && rec.nextAttemptAt > ctx.now()) continue;
    if (!(await ctx.spool.intact(rec.spoolKey, rec.size))) {
      log.error({ uid: rec.uid, key: rec.spoolKey }, 'spool file damaged (power cut?): fetching it again');
      await ctx.store.discard(rec.id);
      known.delete(rec.uid);
      continue;
    }
    count(await attemptDelivery(ctx, origin(plan), rec));
  }
  const tellPostmaster = async () => {
    for (const record of notices.splice(0)) {
      // Recorded even while the target is down: the notice then waits in the spool like any message.
      if (!plan.postmaster) break;
      const outcome = await sendNotice(ctx, origin(plan), plan.postmaster, record);
      known.set(outcome.record.uid, outcome.record);
    }
  };
  await tellPostmaster();

  let session: SourceSession | undefined;
  try {
    session = await plan.open();
    const listing = await session.list();
    s.listed = listing.length;
    const fresh = listing.filter((m) => !known.has(m.uid));
    options.onEvent?.({ type: 'listed', mailbox: plan.name, count: listing.length, fresh: fresh.length });

    // B. New messages: spool and record before any delivery, so a crash never loses track.
    // The next messages are requested while one is handled (prefetched): stopping early destroys
    // their streams, and the session skips what arrives of them before it deletes and quits.
    const fits = (m: SourceMessage) => m.size <= plan.maxMessageSize;
    for (const { msg, stream } of prefetched(session, fresh, fits)) {
      if (stopped() || targetDown) {
        stream?.destroy();
        break;
      }
      const outcome = await fetchAndDeliver(ctx, plan, msg, stream, (bytes) => {
        s.fetched++;
        s.bytes += bytes;
      });
      count(outcome);
    }

    await tellPostmaster();

    // C. Remove at the source what the store holds as delivered or durably quarantined.
    const remove = removable(plan, listing, known, ctx.now());
    // Group commit: one fsync round for the whole pass, before the provider's copy can go (and, in
    // keep mode, so a power cut cannot forget what was delivered). A pass that fetched, delivered and
    // removes nothing has nothing to make durable: an idle poll costs no disk flush.
    if (remove.length > 0 || s.fetched > 0 || s.delivered > 0) {
      await ctx.spool.syncAll();
      await ctx.store.sync();
    }
    if (remove.length > 0) await session.delete(remove.map((r) => r.msg));
    await session.close();
    session = undefined;
    if (remove.length > 0)
      await ctx.store.markSourceRemoved(
        remove.map((r) => r.id),
        ctx.now(),
      );
    s.removed = remove.length;
    if (plan.keep) await forgetVanished(ctx, listing, known);
  } catch (err) {
    session?.abort();
    s.error = isPostboteError(err) ? err : toPostboteError(err, `${plan.protocol} ${plan.host}`);
    log.warn({ err: s.error.toJSON() }, `mailbox ${plan.name}: ${s.error.describe()}`);
  }
  await tellPostmaster(); // notices of a pass that ended early
  if (targetDown && !s.error) s.error = targetDown;
  s.pending = [...known.values()].filter((r) => r.state === 'spooled' || r.state === 'deferred').length;
  s.ok = !s.error;
  s.endedAt = ctx.now();
  await ctx.store.recordSession({ ...s, error: s.error ? s.error.describe() : null });
  return s;
}

function removable(
  plan: MailboxPlan,
  listing: SourceMessage[],
  known: Map<string, MessageRecord>,
  now: number,
): Array<{ msg: SourceMessage; id: number }> {
  const out: Array<{ msg: SourceMessage; id: number }> = [];
  for (const msg of listing) {
    const rec = known.get(msg.uid);
    if (!rec || !FINAL_STATES.has(rec.state)) continue;
    // A quarantined record without bytes (never fetched) must keep the provider's copy.
    if (rec.state === 'quarantined' && rec.spoolKey === null) continue;
    if (plan.keep) {
      if (plan.deleteAfterDays === undefined || now - rec.fetchedAt < plan.deleteAfterDays * DAY_MS) continue;
    }
    out.push({ msg, id: rec.id });
  }
  return out;
}

/** Keep mode: once the server no longer lists a message, its uid need not be remembered. */
async function forgetVanished(
  ctx: DeliveryContext,
  listing: SourceMessage[],
  known: Map<string, MessageRecord>,
): Promise<void> {
  const listed = new Set(listing.map((m) => m.uid));
  const gone = [...known.values()].filter((r) => !listed.has(r.uid) && r.state === 'delivered');
  if (gone.length > 0) await ctx.store.forget(gone.map((r) => r.id));
}
