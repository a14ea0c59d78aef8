// When a mailbox is polled again after a pass: its interval, longer while it fails, an hour when only a
// person can fix it.
import type { PassSummary } from '../connector/plan.js';

/** However long the interval, a failing mailbox is retried at least this often. */
const MAX_FAILURE_BACKOFF_MS = 3_600_000;
/**
 * A permanent failure (wrong password, certificate not trusted) fails the same way until someone
 * changes something, and each try costs a failed login that providers count towards locking the
 * account: one try an hour; after a fix, "fetch now" (or the restart a config change needs) runs at once.
 */
const PERMANENT_FAILURE_BACKOFF_MS = 3_600_000;
/**
 * The pass failed in a way only a person can fix: a permanent error (`temporary: false`) before the
 * session could list anything (login, TLS verification, a command the server refuses for good). A
 * permanent problem with single messages or at the target does not hold back the whole mailbox.
 */
export function needsAction(summary: Pick<PassSummary, 'ok' | 'listed' | 'error'>): boolean {
  return !summary.ok && summary.error?.temporary === false && summary.listed === 0;
}

/** When to poll again: the interval, doubled per failure in a row, or an hour for a permanent one. */
export function nextPollDelay(
  interval: number,
  failures: number,
  summary: Pick<PassSummary, 'ok' | 'listed' | 'error'>,
): number {
  if (summary.ok) return interval;
  if (needsAction(summary)) return Math.max(interval, PERMANENT_FAILURE_BACKOFF_MS);
  return Math.min(interval * 2 ** Math.max(0, failures - 1), Math.max(interval, MAX_FAILURE_BACKOFF_MS));
}
