// One pass over one mailbox: deliver what is pending from the spool, fetch what is new (spool, record,
// deliver), then remove at the source only what the store says is safe, and commit (QUIT). A message
// that cannot be read costs only itself: the pass skips it (reopening the session when the failure
// broke it) and goes on; after MAX_READ_FAILURES passes it is quarantined unread and the postmaster told.
import { type AttemptOutcome, attemptDelivery, type DeliveryContext } from '../delivery/attempt.js';
import { needsNotice, sendNotice } from '../delivery/notice.js';
import { isPostboteError, type PostboteError, toPostboteError } from '../errors.js';
import type { SourceMessage, SourceSession } from '../source/types.js';
import { FINAL_STATES, type MessageRecord } from '../store/types.js';
import {
  deliverFetched,
  type Fetched,
  fetchMessage,
  fetchReleased,
  isReleasedUnfetched,
  origin,
  releasedLimit,
} from './fetch-message.js';
import { matchListing } from './match-listing.js';
import { bytesForRetry } from './missing-bytes.js';
import { emptySummary, type MailboxPlan, type PassOptions, type PassSummary } from './plan.js';
import { prefetched } from './prefetch.js';
import { type ReadFailureVerdict, readFailure, releasedReadFailure } from './read-failure.js';
import { removeAtSource } from './remove-at-source.js';

/**
 * Sessions one pass may open: the first, and reopenings after a message broke one (desynchronised
 * pipelining, a body that never ends). Bounded so a server that breaks every session cannot loop.
 */
export const MAX_SESSIONS_PER_PASS = 4;

export type { MailboxPlan, OpenOptions, PassEvent, PassOptions, PassSummary } from './plan.js';

type Settled = { outcome: AttemptOutcome } | { error: unknown };

function settled(p: Promise<AttemptOutcome>): Promise<Settled> {
  return p.then(
    (outcome) => ({ outcome }),
    (error: unknown) => ({ error }),
  );
}

/** Mailboxes whose server desynchronised a pipelined session: one command at a time from then on. */
const noPipelining = new Set<string>();

/**
 * An idle poll (nothing fetched, delivered, deferred, quarantined or removed, no error, the same count
 * listed) right after a recorded one is not recorded again for this long: 2,000 mailboxes polled every
 * minute would add 2.9 million rows a day, each a store write. The mailbox page then shows one idle
 * poll an hour (and every one that changed something); the dashboard's last poll comes from the
 * scheduler, which sees every pass.
 */
export const IDLE_RECORD_MS = 3_600_000;
/** Per store and mailbox: the last session recorded, when it was an idle poll. */
const idleRecorded = new WeakMap<object, Map<string, { at: number; listed: number }>>();

function recordWanted(store: object, s: PassSummary): boolean {
  let byMailbox = idleRecorded.get(store);
  if (!byMailbox) {
    byMailbox = new Map();
    idleRecorded.set(store, byMailbox);
  }
  const idle = s.ok && s.fetched + s.delivered + s.deferred + s.quarantined + s.removed === 0;
  if (!idle) {
    byMailbox.delete(s.mailbox);
    return true;
  }
  const last = byMailbox.get(s.mailbox);
  if (last && last.listed === s.listed && s.endedAt - last.at < IDLE_RECORD_MS) return false;
  byMailbox.set(s.mailbox, { at: s.endedAt, listed: s.listed });
  return true;
}

export async function runMailboxPass(
  ctx: DeliveryContext,
  plan: MailboxPlan,
  options: PassOptions = {},
): Promise<PassSummary> {
  const s: PassSummary = emptySummary(plan.name, true, ctx.now(), 0);
  const log = ctx.logger.child({ mailbox: plan.name });
  const stopped = () => options.signal?.aborted === true;
  const known = new Map((await ctx.store.messagesOf(plan.name)).map((r) => [r.id, r]));
  let targetDown: PostboteError | undefined;
  /** Problems that cost single messages, not the pass: the first is reported as the pass's error. */
  const problems: PostboteError[] = [];

  const notices: MessageRecord[] = [];
  const count = (outcome: AttemptOutcome, since: number) => {
    known.set(outcome.record.id, outcome.record);
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
      record: outcome.record,
      ms: ctx.now() - since,
    });
  };

  // A. What is already spooled needs no provider: deliver it first.
  for (const rec of [...known.values()]) {
    if (stopped() || targetDown) break;
    if (FINAL_STATES.has(rec.state) || rec.spoolKey === null) continue;
    if (!options.force && rec.nextAttemptAt !== null && rec.nextAttemptAt > ctx.now()) continue;
    // Another instance may have fetched it, or a power cut shortened it: see missing-bytes.ts.
    const bytes = await bytesForRetry(ctx, rec, log);
    if (bytes.kind === 'refetch') known.delete(rec.id);
    if (bytes.kind === 'skip' || bytes.kind === 'set-aside') problems.push(bytes.error);
    if (bytes.kind === 'set-aside') count({ kind: 'final', record: bytes.record }, ctx.now());
    if (bytes.kind !== 'ready') continue;
    const since = ctx.now();
    count(await attemptDelivery(ctx, origin(plan), rec), since);
  }
  const tellPostmaster = async () => {
    for (const record of notices.splice(0)) {
      // Recorded even while the target is down: the notice then waits in the spool like any message.
      if (!plan.postmaster) break;
      // While stopping (SIGTERM) a notice is only recorded: the next run delivers it.
      const outcome = await sendNotice(ctx, origin(plan), plan.postmaster, record, !stopped());
      known.set(outcome.record.id, outcome.record);
    }
  };
  await tellPostmaster();

  /** Messages that failed in this pass, by uid and size: a reopened session skips them. */
  const failedThisPass = new Set<string>();
  const failKey = (m: SourceMessage) => `${m.size} ${m.uid}`;
  let session: SourceSession | undefined;
  try {
    for (let round = 1; !options.pendingOnly; round++) {
      const released = [...known.values()].filter(isReleasedUnfetched);
      const open = await plan.open({
        ...(noPipelining.has(plan.name) ? { pipelining: false } : {}),
        ...(released.length > 0
          ? { maxMessageSize: Math.max(...released.map((r) => releasedLimit(plan, r.sourceSize ?? r.size))) }
          : {}),
      });
      session = open;
      const listing = await open.list();
      s.listed = listing.messages.length;
      const ids = await matchListing(ctx, plan, open, listing, known, log);
      if (round === 1) problems.push(...ids.refused);
      const fresh = ids.fresh.filter((m) => !failedThisPass.has(failKey(m)));
      // Told once per pass: a reopened session lists the same mailbox again.
      if (round === 1)
        options.onEvent?.({ type: 'listed', mailbox: plan.name, count: s.listed, fresh: fresh.length });

      // B. New messages: spool and record before any delivery, so a crash never loses track.
      // The next messages are requested while one is handled (prefetched): stopping early destroys
      // their streams, and the session skips what arrives of them before it deletes and quits.
      const matched = new Map(ids.matched.map(({ msg, record }) => [msg.num, record]));
      let broken: ReadFailureVerdict | undefined;
      /** A message not read costs only itself; returns the verdict when it broke the session. */
      const failed = (msg: SourceMessage, verdict: ReadFailureVerdict, since: number) => {
        problems.push(verdict.error);
        log.warn(
          { uid: msg.uid, err: verdict.error.toJSON() },
          `message ${msg.uid} not read: ${verdict.error.describe()}`,
        );
        if (verdict.record) {
          matched.set(msg.num, verdict.record);
          count({ kind: 'final', record: verdict.record }, since);
        }
        if (verdict.desync) noPipelining.add(plan.name);
        return verdict.sessionAlive ? undefined : verdict;
      };
      // Released by an admin after a quarantine without bytes: fetched now into its own record.
      for (const { msg, record } of ids.matched) {
        if (!isReleasedUnfetched(record) || stopped() || targetDown) continue;
        const since = ctx.now();
        try {
          const outcome = await fetchReleased(ctx, plan, msg, record, open.retrieve(msg), (bytes) => {
            s.fetched++;
            s.bytes += bytes;
          });
          matched.set(msg.num, outcome.record);
          count(outcome, since);
        } catch (err) {
          broken = failed(msg, await releasedReadFailure(ctx, plan, record, err), since);
          if (broken) break;
        }
      }
      const fits = (m: SourceMessage) => m.size <= plan.maxMessageSize;
      // The delivery under way: the next message is read, spooled and recorded meanwhile, so the
      // target's reply and the provider's bytes overlap. One at a time: the next goes to the target
      // only once this one is counted and committed, so the one duplicate window (the target's 250 →
      // the store's commit) stays one message per session.
      let delivering: { msg: SourceMessage; since: number; result: Promise<Settled> } | undefined;
      /** Waits for the delivery under way and counts it; returns the verdict when it broke the session. */
      const settle = async (): Promise<ReadFailureVerdict | undefined> => {
        const d = delivering;
        if (!d) return undefined;
        delivering = undefined;
        const r = await d.result;
        if ('outcome' in r) {
          matched.set(d.msg.num, r.outcome.record);
          count(r.outcome, d.since);
          return undefined;
        }
        failedThisPass.add(failKey(d.msg));
        return failed(d.msg, await readFailure(ctx, plan, d.msg, r.error), d.since);
      };
      try {
        for (const { msg, stream } of broken ? [] : prefetched(open, fresh, fits)) {
          if (stopped() || targetDown) {
            stream?.destroy();
            break;
          }
          const since = ctx.now();
          let fetched: Fetched | undefined;
          try {
            fetched = await fetchMessage(ctx, plan, msg, stream, (bytes) => {
              s.fetched++;
              s.bytes += bytes;
            });
          } catch (err) {
            failedThisPass.add(failKey(msg));
            broken = failed(msg, await readFailure(ctx, plan, msg, err), since);
          }
          const before = await settle();
          if (fetched?.kind === 'decided') {
            matched.set(msg.num, fetched.outcome.record);
            count(fetched.outcome, since);
          } else if (fetched && !before && !targetDown) {
            delivering = { msg, since, result: settled(deliverFetched(ctx, fetched)) };
          } else if (fetched) {
            // Recorded but not handed over (the target went down meanwhile): it stays spooled, and
            // phase A of a later pass delivers it.
            known.set(fetched.record.id, fetched.record);
            matched.set(msg.num, fetched.record);
          }
          broken ??= before;
          if (broken) break;
        }
        const last = await settle();
        broken ??= last;
      } finally {
        // Leaving early (a store failure): what was handed to the target still ends before the pass.
        await delivering?.result;
      }
      if (broken) {
        open.abort();
        session = undefined;
        if (round < MAX_SESSIONS_PER_PASS && !stopped() && !targetDown) {
          log.info(
            `reopening the session to go on after message failures (${round}/${MAX_SESSIONS_PER_PASS})`,
          );
          continue;
        }
        break;
      }
      await tellPostmaster();
      const removed = await removeAtSource(
        ctx,
        plan,
        open,
        listing.messages,
        matched,
        s.fetched + s.delivered > 0,
        options.assertLease,
      );
      session = undefined;
      s.removed = removed.count;
      problems.push(...removed.problems);
      break;
    }
  } catch (err) {
    session?.abort();
    s.error = isPostboteError(err) ? err : toPostboteError(err, `${plan.protocol} ${plan.host}`);
    log.warn({ err: s.error.toJSON() }, `mailbox ${plan.name}: ${s.error.describe()}`);
  }

  await tellPostmaster(); // notices of a pass that ended early
  if (targetDown && !s.error) s.error = targetDown;
  if (!s.error && problems.length > 0) s.error = problems[0];
  s.pending = [...known.values()].filter((r) => r.state === 'spooled' || r.state === 'deferred').length;
  s.ok = !s.error;
  s.endedAt = ctx.now();
  // A retry without a provider session is not a session of the mailbox, unless it decided something.
  const decided = s.delivered + s.deferred + s.quarantined > 0;
  if ((!options.pendingOnly || decided) && recordWanted(ctx.store, s))
    await ctx.store.recordSession({ ...s, error: s.error ? s.error.describe() : null });
  return s;
}
