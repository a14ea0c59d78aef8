// What a POP3 server announces about its mailbox (RFC 2449) and the scheduler heeds: LOGIN-DELAY, the
// least time between two logins, and EXPIRE 0, which makes `keep` impossible.
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../log.js';
import type { SourceSession } from '../source/types.js';
import { stopping } from './shutdown.js';
import type { Slot } from './slot.js';

/** Waits out the server's LOGIN-DELAY since the last login (also for passes run now and reopened sessions). */
export async function loginAllowed(slot: Slot, signal: AbortSignal, logger: Logger): Promise<void> {
  const wait = loginWait(slot);
  if (wait <= 0) return;
  logger.debug({ mailbox: slot.plan.name, wait }, 'waiting for the server’s LOGIN-DELAY');
  await delay(wait, undefined, { signal }).catch(() => {
    throw stopping();
  });
}

/** Milliseconds until the server's LOGIN-DELAY allows the next login (≤ 0: now). */
export function loginWait(slot: Slot): number {
  if (slot.lastLogin === undefined || !slot.loginDelay) return 0;
  return slot.lastLogin + slot.loginDelay - Date.now();
}

/** What the server announced: LOGIN-DELAY for the next login, EXPIRE 0 against keep mode. */
export function heed(slot: Slot, session: SourceSession, logger: Logger): void {
  const policy = session.policy;
  slot.loginDelay = policy?.loginDelay !== undefined ? policy.loginDelay * 1000 : undefined;
  if (policy?.expire === 0 && slot.plan.keep && !slot.expireWarned) {
    slot.expireWarned = true;
    logger.warn(
      { mailbox: slot.plan.name },
      'the server announces EXPIRE 0: it deletes every message once retrieved, so keep cannot be honoured',
    );
  }
}
