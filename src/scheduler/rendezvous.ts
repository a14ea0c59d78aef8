// Which live instance works on which mailbox: rendezvous (highest random weight) hashing. Every
// instance computes the same answer from the same list of live ids, without talking to the others;
// when an instance leaves only its own mailboxes move, and a joining one takes about its share.
import { createHash } from 'node:crypto';

/** The weight of one (instance, mailbox) pair: 64 bits of SHA-256, the same on every instance. */
export function weight(instance: string, mailbox: string): bigint {
  return createHash('sha256').update(`${instance}\n${mailbox}`).digest().readBigUInt64BE(0);
}

/** The instance that ranks first for the mailbox (ties, which need a 64-bit collision, by id). */
export function ownerOf(mailbox: string, instances: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestWeight = -1n;
  for (const id of instances) {
    const w = weight(id, mailbox);
    if (w > bestWeight || (w === bestWeight && best !== undefined && id < best)) {
      best = id;
      bestWeight = w;
    }
  }
  return best;
}

/** Each instance's mailboxes (every instance appears, possibly with none). */
export function spread(mailboxes: readonly string[], instances: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>(instances.map((id) => [id, []]));
  for (const m of mailboxes) {
    const owner = ownerOf(m, instances);
    if (owner !== undefined) out.get(owner)!.push(m);
  }
  return out;
}
