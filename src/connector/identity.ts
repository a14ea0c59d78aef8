// Which listed message is which record: a uid alone does not prove it. Servers reuse uids (after a
// deletion; hash-based uids repeat for equal content) and some list one uid twice, so a remembered uid
// only stands for a record when the listed size matches and, where there is reason to doubt, the header
// digest from TOP n 0 matches too. Whatever cannot be proved the same is treated as new: fetching a
// message twice costs a duplicate check, treating a new one as done would lose it.
import { parseImapUid } from '../imap/uid.js';
import type { SourceListing, SourceMessage } from '../source/types.js';
import type { MessageRecord } from '../store/types.js';

export interface Identified {
  /** Listed messages that are a known record, each record matched at most once. */
  matched: Array<{ msg: SourceMessage; record: MessageRecord }>;
  /** Listed messages that are new (or could not be proved to be the record their uid names). */
  fresh: SourceMessage[];
  /** Records whose uid no longer designates them: not listed any more, or the server reused the uid. */
  detach: MessageRecord[];
  /** What was noticed, for the log: reused and repeated uids. */
  notes: string[];
}

/** Digest of a listed message's header block (TOP n 0), or undefined when the server cannot tell. */
export type DigestOf = (msg: SourceMessage) => Promise<string | undefined>;

export async function identify(
  listing: SourceListing,
  records: readonly MessageRecord[],
  digestOf: DigestOf,
): Promise<Identified> {
  const out: Identified = { matched: [], fresh: [], detach: [], notes: [] };
  const byUid = new Map<string, MessageRecord[]>();
  for (const r of records) {
    if (r.detachedAt != null) continue;
    const list = byUid.get(r.uid);
    if (list) list.push(r);
    else byUid.set(r.uid, [r]);
  }
  const listedTimes = new Map<string, number>();
  for (const m of listing.messages) listedTimes.set(m.uid, (listedTimes.get(m.uid) ?? 0) + 1);
  for (const [uid, n] of listedTimes) {
    if (n > 1)
      out.notes.push(
        `the server lists uid ${JSON.stringify(uid)} ${n} times: told apart by size and headers`,
      );
  }

  const used = new Set<number>();
  // New mail is appended: a known uid listed after a new message is where a reused uid shows up.
  let afterFresh = false;
  for (const msg of listing.messages) {
    const candidates = (byUid.get(msg.uid) ?? []).filter((r) => !used.has(r.id));
    const sameSize = candidates.filter((r) => r.sourceSize == null || r.sourceSize === msg.size);
    if (candidates.length > 0 && sameSize.length === 0) {
      out.notes.push(
        `uid ${JSON.stringify(msg.uid)} now lists ${msg.size} octets, not ${candidates[0]!.sourceSize}: a new message`,
      );
    }
    let record: MessageRecord | undefined;
    if (sameSize.length > 0) {
      // IMAP never reuses a UID within a UIDVALIDITY (RFC 3501 2.3.1.1), so new mail before a known uid
      // is no reason to doubt it there (and would cost a header fetch per known message in keep mode).
      const reusable = parseImapUid(msg.uid) === undefined;
      const doubt =
        (listedTimes.get(msg.uid) ?? 0) > 1 ||
        sameSize.length > 1 ||
        (afterFresh && reusable) ||
        sameSize.some((r) => r.sourceRemovedAt !== null);
      record = doubt ? await verified(msg, sameSize, digestOf, out.notes) : sameSize[0];
    }
    if (record) {
      used.add(record.id);
      out.matched.push({ msg, record });
    } else {
      afterFresh = true;
      out.fresh.push(msg);
    }
  }

  const listedUids = new Set(listedTimes.keys());
  for (const r of records) {
    if (r.detachedAt != null || used.has(r.id)) continue;
    // A uid now used for another message is detached at once. A record merely not listed is detached
    // only when the listing was whole: a refused line might have been its entry.
    if (listedUids.has(r.uid) || listing.refused.length === 0) out.detach.push(r);
  }
  return out;
}

async function verified(
  msg: SourceMessage,
  candidates: MessageRecord[],
  digestOf: DigestOf,
  notes: string[],
): Promise<MessageRecord | undefined> {
  const digest = await digestOf(msg);
  if (digest === undefined) {
    // Nothing to compare with. A record the server confirmed deleted cannot be this message unless
    // the server lied; one it still holds is taken as before (its size matched).
    const held = candidates.find((r) => r.sourceRemovedAt === null);
    if (!held)
      notes.push(
        `uid ${JSON.stringify(msg.uid)} is listed again after its deletion and cannot be checked (no TOP): a new message`,
      );
    return held;
  }
  const same =
    candidates.find((r) => r.headerDigest === digest) ?? candidates.find((r) => r.headerDigest == null);
  if (!same)
    notes.push(`uid ${JSON.stringify(msg.uid)} now names a message with other headers: a new message`);
  return same;
}

export interface Rebased {
  /** Records recognised in a folder that got a new UIDVALIDITY, with the uid they have now. */
  renamed: Array<{ record: MessageRecord; uid: string }>;
  notes: string[];
}

/**
 * IMAP: a folder whose UIDVALIDITY changed (recreated, migrated to another server) lists all its
 * messages under new uids. Known records of that folder are matched to listed messages by Message-ID,
 * size and internal date, each at most once; what matches takes the new uid, the rest is new mail
 * (fetched, and still subject to the duplicate check). Records without a Message-ID cannot be
 * recognised: their message is fetched again rather than risk losing another.
 */
export function rebaseImapUids(listing: SourceListing, records: readonly MessageRecord[]): Rebased {
  const out: Rebased = { renamed: [], notes: [] };
  const current = new Map<string, string>();
  for (const m of listing.messages) {
    const id = parseImapUid(m.uid);
    if (id) current.set(id.folder, id.uidValidity);
  }
  if (current.size === 0) return out;
  const knownUids = new Set(records.map((r) => r.uid));
  const stale = new Map<string, MessageRecord[]>();
  for (const r of records) {
    if (r.detachedAt != null) continue;
    const id = parseImapUid(r.uid);
    const now = id && current.get(id.folder);
    if (!id || now === undefined || now === id.uidValidity) continue;
    const list = stale.get(id.folder) ?? [];
    list.push(r);
    stale.set(id.folder, list);
  }
  for (const [folder, olds] of stale) {
    const candidates = listing.messages.filter((m) => {
      const id = parseImapUid(m.uid);
      return id?.folder === folder && !knownUids.has(m.uid);
    });
    const used = new Set<number>();
    for (const r of olds) {
      if (!r.messageId) continue;
      const found = candidates.find(
        (m) =>
          !used.has(m.num) &&
          m.messageId === r.messageId &&
          m.size === (r.sourceSize ?? r.size) &&
          (r.sourceDate == null || m.internalDate === undefined || m.internalDate === r.sourceDate),
      );
      if (!found) continue;
      used.add(found.num);
      out.renamed.push({ record: r, uid: found.uid });
    }
    const was = [...new Set(olds.map((r) => parseImapUid(r.uid)?.uidValidity))].join(', ');
    out.notes.push(
      `folder ${folder}: UIDVALIDITY changed from ${was} to ${current.get(folder)} (folder recreated or server migrated): ` +
        `${used.size} known messages recognised by Message-ID, size and date and not fetched again, ` +
        `${candidates.length - used.size} listed messages treated as new`,
    );
  }
  return out;
}
