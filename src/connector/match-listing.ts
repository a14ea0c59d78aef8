// The listing step of a pass: what the server listed, matched with what the store knows. Refused
// listing lines become problems of the pass (that message is left alone); IMAP records follow their
// folder to a new UIDVALIDITY; records whose uid no longer stands for them are detached.
import type { DeliveryContext } from '../delivery/attempt.js';
import { PostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SourceListing, SourceSession } from '../source/types.js';
import type { MessageRecord } from '../store/types.js';
import { type Identified, identify, rebaseImapUids } from './identity.js';
import type { MailboxPlan } from './plan.js';
import { topDigest } from './read-failure.js';

/** Refused lines are shown this long: a hostile server's line could be a megabyte. */
const SHOWN_LINE = 200;

export async function matchListing(
  ctx: DeliveryContext,
  plan: MailboxPlan,
  session: SourceSession,
  listing: SourceListing,
  known: Map<number, MessageRecord>,
  log: Logger,
): Promise<Identified & { refused: PostboteError[] }> {
  const refused = listing.refused.map((r) => {
    const err = new PostboteError(
      'SOURCE_LISTING',
      `listing line refused: ${r.why}: ${JSON.stringify(r.line.slice(0, SHOWN_LINE))}`,
      {
        temporary: true,
        where: `${plan.protocol} ${plan.host}`,
        hint: 'the server sent a listing line Postbote cannot trust: that message is left on the server, untouched; tell the provider',
      },
    );
    log.warn({ line: r.line.slice(0, SHOWN_LINE) }, err.message);
    return err;
  });
  const rebased = rebaseImapUids(listing, [...known.values()]);
  for (const note of rebased.notes) log.warn(note);
  if (rebased.renamed.length > 0) {
    await ctx.store.reassignUids(rebased.renamed.map((r) => ({ id: r.record.id, uid: r.uid })));
    for (const r of rebased.renamed) known.set(r.record.id, { ...r.record, uid: r.uid });
  }
  const ids = await identify(listing, [...known.values()], (m) => topDigest(session, m));
  for (const note of ids.notes) log.warn(note);
  if (ids.detach.length > 0) {
    const at = ctx.now();
    await ctx.store.detach(
      ids.detach.map((r) => r.id),
      at,
    );
    for (const r of ids.detach) known.set(r.id, { ...r, detachedAt: at });
  }
  return { ...ids, refused };
}
