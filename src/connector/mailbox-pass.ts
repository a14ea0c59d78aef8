// One pass over one mailbox: deliver what is pending from the spool, fetch what is new (spool, record,
// deliver), then remove at the source only what the store says is safe, and commit (QUIT). A message
// that cannot be read costs only itself: the pass skips it (reopening the session when the failure
// broke it) and goes on; after MAX_READ_FAILURES passes it is quarantined unread and the postmaster told.
import { type AttemptOutcome, attemptDelivery, type DeliveryContext } from '../delivery/attempt.js';
import { needsNotice, sendNotice } from '../delivery/notice.js';
import { isPostboteError, PostboteError, toPostboteError } from '../errors.js';
import type { FilterSet } from '../filters/scan.js';
import type { RouteInput } from '../routing/types.js';
import type { SourceMessage, SourceSession } from '../source/types.js';
import { FINAL_STATES, type MessageRecord, type SessionRecord } from '../store/types.js';
import {
  fetchAndDeliver,
  fetchReleased,
  isReleasedUnfetched,
  origin,
  releasedLimit,
} from './fetch-message.js';
import { identify, rebaseImapUids } from './identity.js';
import { prefetched } from './prefetch.js';
import { type ReadFailureVerdict, readFailure, releasedReadFailure, topDigest } from './read-failure.js';

const DAY_MS = 86_400_000;
/**
 * Sessions one pass may open: the first, and reopenings after a message broke one (desynchronised
 * pipelining, a body that never ends). Bounded so a server that breaks every session cannot loop.
 */
export const MAX_SESSIONS_PER_PASS = 4;

export interface OpenOptions {
  /** false: one command at a time even if the server offers PIPELINING (after a desynchronised session). */
  pipelining?: boolean;
  /** Raises the session's message size limit (to fetch messages an admin released whatever their size). */
  maxMessageSize?: number;
}

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
  /** Spam/virus scanners between spool and delivery (src/filters/); absent: none. */
  filters?: FilterSet;
  open(options?: OpenOptions): Promise<SourceSession>;
}

export type PassEvent =
  | { type: 'listed'; mailbox: string; count: number; fresh: number }
  | {
      type: 'message';
      mailbox: string;
      uid: string;
      outcome: MessageRecord['state'] | 'skipped';
      bytes: number;
      /** The record as decided, for the per-message log line. */
      record: MessageRecord;
      /** Milliseconds from taking the message in hand to its fate. */
      ms: number;
    };

export interface PassOptions {
  /** Retry deferred messages now regardless of their backoff (`postbote fetch`). */
  force?: boolean;
  /** Deliver what is spooled and due, without a provider session (the scheduler's retries). */
  pendingOnly?: boolean;
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

/** Mailboxes whose server desynchronised a pipelined session: one command at a time from then on. */
const noPipelining = new Set<string>();

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
    if (!(await ctx.spool.intact(rec.spoolKey, rec.size, rec.sha256))) {
      log.error({ uid: rec.uid, key: rec.spoolKey }, 'spool file damaged (power cut?): fetching it again');
      await ctx.store.discard(rec.id);
      await ctx.spool.remove(rec.spoolKey); // after the record: a crash between leaves an orphan, swept
      known.delete(rec.id);
      continue;
    }
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
      session = await plan.open({
        ...(noPipelining.has(plan.name) ? { pipelining: false } : {}),
        ...(released.length > 0
          ? { maxMessageSize: Math.max(...released.map((r) => releasedLimit(plan, r.sourceSize ?? r.size))) }
          : {}),
      });
      const listing = await session.list();
      s.listed = listing.messages.length;
      for (const r of listing.refused) {
        const err = new PostboteError(
          'SOURCE_LISTING',
          `listing line refused: ${r.why}: ${JSON.stringify(r.line.slice(0, 200))}`,
          {
            temporary: true,
            where: `${plan.protocol} ${plan.host}`,
            hint: 'the server sent a listing line Postbote cannot trust: that message is left on the server, untouched; tell the provider',
          },
        );
        if (round === 1) problems.push(err);
        log.warn({ line: r.line.slice(0, 200) }, err.message);
      }
      const rebased = rebaseImapUids(listing, [...known.values()]);
      for (const note of rebased.notes) log.warn(note);
      if (rebased.renamed.length > 0) {
        await ctx.store.reassignUids(rebased.renamed.map((r) => ({ id: r.record.id, uid: r.uid })));
        for (const r of rebased.renamed) known.set(r.record.id, { ...r.record, uid: r.uid });
      }
      const open = session;
      const ids = await identify(listing, [...known.values()], (m) => topDigest(open, m));
      for (const note of ids.notes) log.warn(note);
      if (ids.detach.length > 0) {
        await ctx.store.detach(
          ids.detach.map((r) => r.id),
          ctx.now(),
        );
        for (const r of ids.detach) known.set(r.id, { ...r, detachedAt: ctx.now() });
      }
      const fresh = ids.fresh.filter((m) => !failedThisPass.has(failKey(m)));
      // Told once per pass: a reopened session lists the same mailbox again.
      if (round === 1)
        options.onEvent?.({ type: 'listed', mailbox: plan.name, count: s.listed, fresh: fresh.length });

      // B. New messages: spool and record before any delivery, so a crash never loses track.
      // The next messages are requested while one is handled (prefetched): stopping early destroys
      // their streams, and the session skips what arrives of them before it deletes and quits.
      const matched = new Map(ids.matched.map(({ msg, record }) => [msg.num, record]));
      let broken: ReadFailureVerdict | undefined;
      // Released by an admin after a quarantine without bytes: fetched now into its own record.
      for (const { msg, record } of ids.matched) {
        if (!isReleasedUnfetched(record) || stopped() || targetDown) continue;
        const since = ctx.now();
        try {
          const outcome = await fetchReleased(ctx, plan, msg, record, session.retrieve(msg), (bytes) => {
            s.fetched++;
            s.bytes += bytes;
          });
          matched.set(msg.num, outcome.record);
          count(outcome, since);
        } catch (err) {
          const verdict = await releasedReadFailure(ctx, plan, record, err);
          problems.push(verdict.error);
          log.warn({ uid: msg.uid, err: verdict.error.toJSON() }, `released message ${msg.uid} not read`);
          if (verdict.record) {
            matched.set(msg.num, verdict.record);
            count({ kind: 'final', record: verdict.record }, since);
          }
          if (verdict.desync) noPipelining.add(plan.name);
          if (!verdict.sessionAlive) {
            broken = verdict;
            break;
          }
        }
      }
      const fits = (m: SourceMessage) => m.size <= plan.maxMessageSize;
      for (const { msg, stream } of broken ? [] : prefetched(session, fresh, fits)) {
        if (stopped() || targetDown) {
          stream?.destroy();
          break;
        }
        const since = ctx.now();
        try {
          const outcome = await fetchAndDeliver(ctx, plan, msg, stream, (bytes) => {
            s.fetched++;
            s.bytes += bytes;
          });
          matched.set(msg.num, outcome.record);
          count(outcome, since);
        } catch (err) {
          const verdict = await readFailure(ctx, plan, msg, err);
          failedThisPass.add(failKey(msg));
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
          if (!verdict.sessionAlive) {
            broken = verdict;
            break;
          }
        }
      }
      if (broken) {
        session.abort();
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
        session,
        listing.messages,
        matched,
        s.fetched + s.delivered > 0,
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
  if (!options.pendingOnly || s.delivered + s.deferred + s.quarantined > 0)
    await ctx.store.recordSession({ ...s, error: s.error ? s.error.describe() : null });
  return s;
}

function removable(
  plan: MailboxPlan,
  listing: SourceMessage[],
  matched: Map<number, MessageRecord>,
  now: number,
): Array<{ msg: SourceMessage; id: number }> {
  const out: Array<{ msg: SourceMessage; id: number }> = [];
  for (const msg of listing) {
    const rec = matched.get(msg.num);
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

/**
 * C. Removes at the source what the store holds as delivered or durably quarantined, then commits (QUIT).
 * A DELE the server refuses costs only that message: the others are still committed.
 */
async function removeAtSource(
  ctx: DeliveryContext,
  plan: MailboxPlan,
  session: SourceSession,
  listed: SourceMessage[],
  matched: Map<number, MessageRecord>,
  wroteSomething: boolean,
): Promise<{ count: number; problems: PostboteError[] }> {
  const remove = removable(plan, listed, matched, ctx.now());
  // Group commit: one fsync round for the whole pass, before the provider's copy can go (and, in
  // keep mode, so a power cut cannot forget what was delivered). A pass that fetched, delivered and
  // removes nothing has nothing to make durable: an idle poll costs no disk flush.
  if (remove.length > 0 || wroteSomething) {
    await ctx.spool.syncAll();
    await ctx.store.sync();
  }
  const refused = remove.length > 0 ? await session.delete(remove.map((r) => r.msg)) : [];
  // Keep mode: what stays on the server is marked read (IMAP \Seen), so the user sees it was handled.
  if (plan.keep && session.markKept) {
    const removing = new Set(remove.map((r) => r.msg.num));
    const kept = listed.filter((m) => {
      const rec = matched.get(m.num);
      if (!rec || !FINAL_STATES.has(rec.state) || removing.has(m.num)) return false;
      return !(rec.state === 'quarantined' && rec.spoolKey === null); // never read: stays unread
    });
    if (kept.length > 0) refused.push(...(await session.markKept(kept)));
  }
  // Deferred: marked, not yet removed (said so by the session), tried again by the next pass.
  const problems = refused
    .filter((r) => !r.deferred)
    .map((r) => {
      const err = toPostboteError(r.error, `${plan.protocol} ${plan.host}`);
      const what = remove.some((x) => x.msg.num === r.message.num) ? 'removed' : 'marked read';
      ctx.logger.warn(
        { mailbox: plan.name, uid: r.message.uid, err: err.toJSON() },
        `message ${r.message.uid} not ${what}: ${err.describe()}`,
      );
      return err;
    });
  await session.close();
  const refusedNums = new Set(refused.map((r) => r.message.num));
  const gone = remove.filter((r) => !refusedNums.has(r.msg.num));
  if (gone.length > 0)
    await ctx.store.markSourceRemoved(
      gone.map((r) => r.id),
      ctx.now(),
    );
  return { count: gone.length, problems };
}
