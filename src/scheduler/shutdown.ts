// How the scheduler stops: the grace a pass gets to finish the message in hand, then its provider
// sessions dropped (nothing committed at the provider, so nothing lost), then a bounded wait for a
// delivery still in flight.
import { PostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Slot } from './slot.js';

/**
 * How long stop() lets passes finish the message in hand before it drops their provider sessions.
 * 30 s: a message of a few MB arrives well within it, and it leaves room for the settle time below
 * within systemd's default 90 s stop timeout. Dropping a session costs nothing: without QUIT the
 * provider keeps every message, and what was fetched but not recorded is fetched again.
 */
export const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;
/**
 * After the sessions are dropped, what can still hold a pass is a delivery to the target in flight.
 * It is waited for this long (cutting it could deliver twice) before stop() gives up on it.
 */
export const STOP_SETTLE_MS = 10_000;

/** The error of a pass, a turn or a login wait cut short by stop(). */
export function stopping(): PostboteError {
  return new PostboteError('CANCELLED', 'Postbote is shutting down', { temporary: true });
}

/** Drops the provider sessions of passes still busy after the grace (each said in the log). */
export function dropSessions(slots: Slot[], logger: Logger): void {
  for (const slot of slots) {
    if (slot.sessions.size === 0) continue;
    logger.warn(
      { mailbox: slot.plan.name },
      `mailbox ${slot.plan.name}: still busy after the shutdown grace; closing its provider session without committing (messages stay on the server)`,
    );
    for (const session of slot.sessions) session.abort();
  }
}

/** Whether `p` settles within `ms`. */
export async function settles(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
