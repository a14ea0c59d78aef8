// What a message that could not be read costs: only itself. Decides from the error whether the session
// survived it (the server answered -ERR) or must be reopened, counts the failure across passes, and
// after MAX_READ_FAILURES records the message as unreadable (quarantined without its bytes, left on
// the server, the postmaster told) so it stops being retried while the rest of the mailbox goes on; a
// message whose end cannot be found at all (POP3_UNREADABLE) is recorded so at once.
import type { DeliveryContext } from '../delivery/attempt.js';
import { type ErrorCode, isPostboteError, type PostboteError, toPostboteError } from '../errors.js';
import { headerDigest } from '../message/header-digest.js';
import type { SourceMessage, SourceSession } from '../source/types.js';
import type { MessageRecord } from '../store/types.js';
import { quarantineUnfetched } from './fetch-message.js';
import type { MailboxPlan } from './mailbox-pass.js';

/**
 * Passes in which one message failed before it is recorded as unreadable. Several, so a dropped
 * connection or a provider's bad minute does not quarantine mail; few, so a broken message is
 * reported within a few polls instead of failing silently forever.
 */
export const MAX_READ_FAILURES = 3;

/** Failures that say nothing about the message: the whole session or the provider has the problem. */
const NOT_THE_MESSAGE: ReadonlySet<ErrorCode> = new Set([
  'POP3_IN_USE',
  'POP3_LOGIN_DELAY',
  'POP3_SYS_TEMP',
  'CANCELLED',
]);

/** Local failures: the pass stops, nothing is held against the message. */
const LOCAL: ReadonlySet<ErrorCode> = new Set(['STORE', 'SPOOL']);

export interface ReadFailureVerdict {
  error: PostboteError;
  /** The server answered (-ERR) and the session can go on; otherwise it must be reopened. */
  sessionAlive: boolean;
  /** The server's replies ran together (pipelining): reopen one command at a time. */
  desync: boolean;
  /** Set when the message is now recorded (unreadable or too large): quarantined, left on the server. */
  record?: MessageRecord;
}

export async function readFailure(
  ctx: DeliveryContext,
  plan: MailboxPlan,
  msg: SourceMessage,
  err: unknown,
): Promise<ReadFailureVerdict> {
  const error = isPostboteError(err) ? err : toPostboteError(err, `${plan.protocol} ${plan.host}`);
  if (LOCAL.has(error.code)) throw error;
  const verdict: ReadFailureVerdict = {
    error,
    sessionAlive: error.reply !== undefined && error.code !== 'MESSAGE_TOO_LARGE',
    desync: error.code === 'POP3_DESYNC',
  };
  if (error.code === 'MESSAGE_TOO_LARGE') {
    // The server under-reported the size: recorded at once so the next pass does not loop on it.
    const reason = `too large to fetch: more than ${plan.maxMessageSize} bytes received (maxMessageSize), left on the server`;
    verdict.record = (await quarantineUnfetched(ctx, plan, msg, reason)).record;
    return verdict;
  }
  if (NOT_THE_MESSAGE.has(error.code)) return verdict;
  if (error.code === 'POP3_UNREADABLE') {
    // Its end cannot be found (last line without CRLF before the final dot): no retry will read it.
    const reason = `unreadable: ${error.describe()}; left on the server`;
    verdict.record = (await quarantineUnfetched(ctx, plan, msg, reason)).record;
    return verdict;
  }
  const failures = await ctx.store.noteReadFailure({
    mailbox: plan.name,
    uid: msg.uid,
    size: msg.size,
    error: error.describe(),
    at: ctx.now(),
  });
  if (failures >= MAX_READ_FAILURES) {
    const reason = `unreadable: reading it failed in ${failures} passes, last: ${error.describe()}; left on the server`;
    verdict.record = (await quarantineUnfetched(ctx, plan, msg, reason)).record;
  }
  return verdict;
}

/**
 * A released message (quarantined without bytes) that still cannot be read goes back to the quarantine
 * on its own record, with the new reason; a failure that says nothing about it leaves it released.
 */
export async function releasedReadFailure(
  ctx: DeliveryContext,
  plan: MailboxPlan,
  record: MessageRecord,
  err: unknown,
): Promise<ReadFailureVerdict> {
  const error = isPostboteError(err) ? err : toPostboteError(err, `${plan.protocol} ${plan.host}`);
  if (LOCAL.has(error.code)) throw error;
  const verdict: ReadFailureVerdict = {
    error,
    sessionAlive: error.reply !== undefined && error.code !== 'MESSAGE_TOO_LARGE',
    desync: error.code === 'POP3_DESYNC',
  };
  if (NOT_THE_MESSAGE.has(error.code)) return verdict;
  const reason = `released, but reading it failed: ${error.describe()}; left on the server`;
  verdict.record = await ctx.store.recordAttempt(
    record.id,
    {
      state: 'quarantined',
      recipients: record.recipients,
      nextAttemptAt: null,
      reason,
      spoolKey: null,
      countsAsAttempt: false,
    },
    { at: ctx.now(), outcome: 'quarantined', detail: reason, recipients: [] },
  );
  return verdict;
}

/**
 * The header digest of a listed message from TOP n 0, to check that a uid still names the message
 * fetched under it. undefined when the server refuses TOP (it is optional in RFC 1939).
 */
export async function topDigest(session: SourceSession, msg: SourceMessage): Promise<string | undefined> {
  try {
    return headerDigest(await session.top(msg, 0));
  } catch (err) {
    if (isPostboteError(err) && err.reply !== undefined) return undefined;
    throw err;
  }
}
