// C. of a pass: remove at the source what the store holds as delivered or durably quarantined (keep
// mode: mark it read, and remove it after deleteAfterDays), after one fsync round, then commit (QUIT).
import type { DeliveryContext } from '../delivery/attempt.js';
import { PostboteError, toPostboteError } from '../errors.js';
import type { SourceMessage, SourceSession } from '../source/types.js';
import { FINAL_STATES, type MessageRecord } from '../store/types.js';
import type { MailboxPlan } from './plan.js';

const DAY_MS = 86_400_000;

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
 * Nothing leaves the provider before its bytes are durable where they will be read: a quarantined
 * message (bytes kept) is copied to the shared store first (a PostgreSQL state; already there when its
 * attempt made the copy). One whose copy fails stays at the provider for now. In a folder state, one
 * whose bytes this spool does not have (a crash before its file was written) stays there too: the
 * provider's copy is the only one.
 */
async function bytesKept(
  ctx: DeliveryContext,
  remove: Array<{ msg: SourceMessage; id: number }>,
  matched: Map<number, MessageRecord>,
  problems: PostboteError[],
): Promise<Array<{ msg: SourceMessage; id: number }>> {
  const out: Array<{ msg: SourceMessage; id: number }> = [];
  for (const r of remove) {
    const rec = matched.get(r.msg.num)!;
    const unsafe =
      rec.state === 'quarantined' && rec.spoolKey ? await notDurable(ctx, rec, rec.spoolKey) : undefined;
    if (!unsafe) {
      out.push(r);
      continue;
    }
    ctx.logger.warn({ mailbox: rec.mailbox, uid: rec.uid, err: unsafe.error.toJSON() }, unsafe.says);
    problems.push(unsafe.error);
  }
  return out;
}

/** Why a quarantined message's bytes are not where they will be read, or undefined when they are. */
async function notDurable(
  ctx: DeliveryContext,
  rec: MessageRecord,
  key: string,
): Promise<{ error: PostboteError; says: string } | undefined> {
  if (!ctx.spool.shared) {
    if (ctx.spool.has(key)) return undefined;
    const says = `quarantined message ${rec.id} kept at the provider: its spool file ${key} is missing`;
    const hint = 'release it: the next pass fetches it again from the provider';
    return { error: new PostboteError('SPOOL', says, { temporary: false, hint }), says };
  }
  try {
    await ctx.spool.retain(key, rec.size, rec.sha256);
    return undefined;
  } catch (err) {
    const error = toPostboteError(err, 'the shared message store');
    const says = `message ${rec.uid} kept at the provider: its bytes are not in the shared store (${error.describe()})`;
    return { error, says };
  }
}

/**
 * C. Removes at the source what the store holds as delivered or durably quarantined, then commits (QUIT).
 * A DELE the server refuses costs only that message: the others are still committed. `assertLease`
 * (several instances on one database) throws if another instance took the mailbox over: then nothing
 * is deleted or marked, and the caller drops the session without QUIT, so the provider commits nothing.
 */
export async function removeAtSource(
  ctx: DeliveryContext,
  plan: MailboxPlan,
  session: SourceSession,
  listed: SourceMessage[],
  matched: Map<number, MessageRecord>,
  wroteSomething: boolean,
  assertLease?: () => Promise<void>,
): Promise<{ count: number; problems: PostboteError[] }> {
  const shareProblems: PostboteError[] = [];
  const remove = await bytesKept(ctx, removable(plan, listed, matched, ctx.now()), matched, shareProblems);
  // Group commit: one fsync round for the whole pass, before the provider's copy can go (and, in
  // keep mode, so a power cut cannot forget what was delivered). A pass that fetched, delivered and
  // removes nothing has nothing to make durable: an idle poll costs no disk flush.
  if (remove.length > 0 || wroteSomething) {
    await ctx.spool.syncAll();
    await ctx.store.sync();
  }
  if (remove.length > 0 || (plan.keep && session.markKept)) await assertLease?.();
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
  return { count: gone.length, problems: [...shareProblems, ...problems] };
}
