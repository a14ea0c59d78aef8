// The order in which `postbote fetch` starts many mailboxes: those whose last pass took longest first,
// so that no long pass runs alone at the end while the other sessions stand idle.
import type { Store } from '../store/types.js';
import type { Slot } from './slot.js';

/**
 * With more mailboxes than sessions, those whose last recorded pass took longest start first
 * (longest processing time first): a long one started in the last wave would run alone at the end
 * while the other sessions stand idle. Mailboxes never fetched count as short; ties keep the
 * configuration's order. When every mailbox gets a session at once, the order does not matter and
 * the store is not asked.
 */
export async function longestFirst(
  slots: Slot[],
  limits: { concurrency: number; perHostConnections: number },
  store: Pick<Store, 'sessionsOf'>,
): Promise<Slot[]> {
  const perHost = new Map<string, number>();
  for (const s of slots) perHost.set(s.plan.host, (perHost.get(s.plan.host) ?? 0) + 1);
  const waits =
    slots.length > limits.concurrency || [...perHost.values()].some((n) => n > limits.perHostConnections);
  if (!waits) return slots;
  const took = await Promise.all(
    slots.map(async (s) => {
      const [last] = await store.sessionsOf(s.plan.name, 1).catch(() => []);
      return last ? last.endedAt - last.startedAt : 0;
    }),
  );
  return slots
    .map((slot, i) => ({ slot, ms: took[i]! }))
    .sort((a, b) => b.ms - a.ms)
    .map((x) => x.slot);
}
