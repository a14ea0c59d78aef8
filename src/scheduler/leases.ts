// What the scheduler asks before each pass: may this instance work on the mailbox now, and under which
// lease? With a folder (SQLite) state there is one process per state and the answer is always yes
// (localLeases); with a PostgreSQL state several instances share the mailboxes (cluster-leases.ts).
import { emptySummary, type PassSummary } from '../connector/plan.js';
import { PostboteError, toPostboteError } from '../errors.js';
import { LeaseLostError } from '../store/postgres-leases.js';
import type { Store } from '../store/types.js';

/** A pass's right to work on its mailbox. */
export interface PassLease {
  /** The lease's fencing token (shared PostgreSQL state): on the pass's message log lines. */
  token?: number;
  /** The store the pass writes through, each write fenced by the lease; undefined: the usual store. */
  store?: Store;
  /** Throws (LeaseLostError) unless the lease still holds, asked of the database: before DELE/EXPUNGE. */
  assert?: () => Promise<void>;
}

export type LeaseAnswer =
  | { lease: PassLease }
  /** Not here: the instance that holds (or, for a scheduled poll, ranks first for) the mailbox. */
  | { heldBy: string };

export interface LeaseProvider {
  /**
   * Before a pass. `explicit`: a person asked for it (fetch, "fetch now"), so any free mailbox is taken;
   * otherwise (the schedule, retries, pushes, wake-ups) only a mailbox this instance ranks first for.
   */
  mayRun(mailbox: string, explicit: boolean): Promise<LeaseAnswer>;
  /** After the pass: the lease is kept (renewed) or released if the mailbox belongs elsewhere now. */
  passEnded(mailbox: string): Promise<void>;
  /** Releases every lease this instance holds (after the scheduler stopped). */
  close(): Promise<void>;
  /** Registers who is told when a mailbox becomes this instance's (another one died or left). */
  onGained?(wake: (mailbox: string) => void): void;
}

/** One process per state: every pass may run, writing through the usual store. */
export const localLeases: LeaseProvider = {
  mayRun: async () => ({ lease: {} }),
  passEnded: async () => undefined,
  close: async () => undefined,
};

/**
 * Runs a pass under the mailbox's lease, if this instance gets it; otherwise a summary naming the
 * holder. A pass that loses its lease stops at its next write (LeaseLostError, logged here once).
 */
export async function underLease(
  leases: LeaseProvider,
  mailbox: string,
  explicit: boolean,
  clock: { now(): number },
  pass: (lease: PassLease) => Promise<PassSummary>,
): Promise<PassSummary> {
  const startedAt = clock.now();
  let answer: LeaseAnswer;
  try {
    answer = await leases.mayRun(mailbox, explicit);
  } catch (err) {
    return leaseLost(mailbox, toPostboteError(err, 'mailbox leases'), startedAt, clock.now());
  }
  if ('heldBy' in answer) return heldElsewhere(mailbox, answer.heldBy, clock.now());
  try {
    return await pass(answer.lease);
  } catch (err) {
    if (!(err instanceof LeaseLostError)) throw err;
    // Another instance took the mailbox over (this one paused, or lost the database for longer than
    // the lease): the write that found out changed nothing, and nothing after it will. The summary
    // carries it to the pass's log line (once).
    return leaseLost(mailbox, err, startedAt, clock.now());
  } finally {
    await leases.passEnded(mailbox).catch(() => undefined);
  }
}

/** The summary of a pass that did not run here because another instance holds the mailbox. */
export function heldElsewhere(mailbox: string, heldBy: string, now: number): PassSummary {
  return {
    ...emptySummary(mailbox, false, now, now),
    heldBy,
    error: new PostboteError('STATE_IN_USE', `mailbox ${mailbox} is held by instance ${heldBy}`, {
      temporary: true,
      hint: 'another Postbote instance sharing this database works on this mailbox; it is fetched there',
    }),
  };
}

/**
 * The summary of a pass stopped by the loss of its lease (its counts are gone with the exception; what
 * it did before is in the store, what it did after was refused).
 */
export function leaseLost(
  mailbox: string,
  error: PostboteError,
  startedAt: number,
  now: number,
): PassSummary {
  return { ...emptySummary(mailbox, false, startedAt, now), error };
}
