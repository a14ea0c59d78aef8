// What an admin may do: to a message, release it to a recipient, retry it now, delete it; to a mailbox,
// fetch now, pause, resume. A message change is written with an entry in the message's history (who,
// what), and never while a session of its mailbox is running, so a pass and an admin never decide about
// the same message at once. Every action done is logged at info with the user (web page and CLI alike).
import { isAlertsMailbox } from '../alerts/state.js';
import { isAddress } from '../config/fields.js';
import { clip, type Logger } from '../log.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { Spool } from '../spool/spool.js';
import type { MessageRecord, Store } from '../store/types.js';

export class ActionError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

export interface ActionDeps {
  store: Store;
  spool: Spool;
  scheduler: Scheduler;
  now: () => number;
  /** Where each action done is logged, with who did it (the web server's logger, the CLI's). */
  logger: Logger;
  /**
   * Starts a mailbox's pass on the instance that holds it (PostgreSQL state: NOTIFY postbote_run when
   * that is another instance). Unset: this process's scheduler, the only one.
   */
  wake?: (mailbox: string) => Promise<void>;
}

export type MailboxAction = 'fetch' | 'pause' | 'resume';

/**
 * One line per action done. The user (a web login name, an API token's name, the OS user) and the
 * addresses come from outside: clipped and control characters escaped.
 */
function logged(
  d: ActionDeps,
  action: string,
  what: Record<string, unknown>,
  user: string,
  msg: string,
): void {
  d.logger.info({ component: 'admin', action, ...what, user: clip(user) }, `${clip(msg)} by ${clip(user)}`);
}

async function load(d: ActionDeps, id: number, allowed: MessageRecord['state'][]): Promise<MessageRecord> {
  const rec = await d.store.get(id);
  if (!rec) throw new ActionError(404, `message ${id} is not in the store`);
  if (!allowed.includes(rec.state)) {
    throw new ActionError(
      409,
      `message ${id} is ${rec.state}; this works for ${allowed.join(' or ')} messages`,
    );
  }
  // Alert mail belongs to no mailbox: the alert watcher sends it (see wake()).
  if (!isAlertsMailbox(rec.mailbox) && !d.scheduler.statuses().some((s) => s.name === rec.mailbox)) {
    throw new ActionError(409, `mailbox ${rec.mailbox} is no longer configured`);
  }
  return rec;
}

function ensureIdle(d: ActionDeps, rec: MessageRecord): void {
  if (d.scheduler.busy(rec.mailbox)) {
    throw new ActionError(409, `a session of mailbox ${rec.mailbox} is running; try again in a moment`);
  }
}

/**
 * Starts the pass that delivers a changed message now. Alert mail has no pass: the alert watcher sends
 * what is due at its next tick (after any pass, at the latest `alerts.checkEvery`, 1 minute by default).
 */
async function wake(d: ActionDeps, rec: MessageRecord): Promise<void> {
  if (isAlertsMailbox(rec.mailbox)) return;
  await runMailbox(d, rec.mailbox);
}

/** A pass of the mailbox now, here or (shared state) on the instance that holds it. */
async function runMailbox(d: ActionDeps, name: string): Promise<void> {
  if (d.wake) await d.wake(name);
  else d.scheduler.requestRun(name);
}

/** Hands a quarantined or deferred message to `recipient` instead: it is delivered by the next pass, now. */
export async function release(
  d: ActionDeps,
  id: number,
  recipient: string,
  user: string,
): Promise<MessageRecord> {
  const address = recipient.trim();
  if (!isAddress(address)) throw new ActionError(400, `"${address}" is not an address like user@example.com`);
  const rec = await load(d, id, ['quarantined', 'deferred']);
  // Without bytes (too large or unreadable, left on the provider) the next pass fetches it whatever
  // maxMessageSize says; only a copy the provider still lists can be fetched.
  if (!rec.spoolKey && (rec.sourceRemovedAt !== null || rec.detachedAt != null)) {
    throw new ActionError(409, `message ${id} was never fetched and is no longer on the provider`);
  }
  ensureIdle(d, rec);
  const detail = `released by ${user} to ${address}${rec.spoolKey ? '' : '; fetched from the provider by the next pass, whatever its size'}`;
  const updated = await d.store.recordAttempt(
    id,
    {
      state: 'spooled',
      recipients: [{ address, status: 'pending', reason: detail }],
      nextAttemptAt: null,
      reason: null,
      spoolKey: rec.spoolKey,
      countsAsAttempt: false,
    },
    { at: d.now(), outcome: 'released', detail, recipients: [] },
  );
  await wake(d, rec);
  logged(
    d,
    'release',
    { id, mailbox: rec.mailbox, to: clip(address) },
    user,
    `message ${id} released to ${address}`,
  );
  return updated;
}

/** Delivers a deferred message at the next pass (alert mail: the watcher's next tick) instead of after its backoff. */
export async function retry(d: ActionDeps, id: number, user: string): Promise<MessageRecord> {
  const rec = await load(d, id, ['deferred', 'spooled']);
  ensureIdle(d, rec);
  const updated = await d.store.recordAttempt(
    id,
    {
      state: rec.state,
      recipients: rec.recipients,
      nextAttemptAt: d.now(),
      reason: rec.reason,
      spoolKey: rec.spoolKey,
      countsAsAttempt: false,
    },
    { at: d.now(), outcome: 'retry-requested', detail: `retry requested by ${user}`, recipients: [] },
  );
  await wake(d, rec);
  logged(d, 'retry', { id, mailbox: rec.mailbox }, user, `message ${id}: retry requested`);
  return updated;
}

/** Discards a quarantined or deferred message: the bytes go, the record stays as 'deleted' with who did it. */
export async function remove(d: ActionDeps, id: number, user: string): Promise<MessageRecord> {
  const rec = await load(d, id, ['quarantined', 'deferred']);
  ensureIdle(d, rec);
  const detail = `deleted by ${user}`;
  const updated = await d.store.recordAttempt(
    id,
    {
      state: 'deleted',
      recipients: rec.recipients,
      nextAttemptAt: null,
      reason: detail,
      spoolKey: null,
      countsAsAttempt: false,
    },
    { at: d.now(), outcome: 'deleted', detail, recipients: [] },
  );
  // After the commit: a crash in between leaves a file the store does not know, swept on the next start.
  if (rec.spoolKey) await d.spool.remove(rec.spoolKey);
  logged(d, 'delete', { id, mailbox: rec.mailbox }, user, `message ${id} deleted`);
  return updated;
}

const MAILBOX_ACTIONS: Record<
  MailboxAction,
  { done: string; act: (d: ActionDeps, name: string) => void | Promise<void> }
> = {
  fetch: { done: 'fetch now requested', act: (d, name) => runMailbox(d, name) },
  // Pause and resume act on this instance's scheduler (its polling), not on the mailbox everywhere.
  pause: { done: 'paused', act: (d, name) => d.scheduler.pause(name) },
  resume: { done: 'resumed', act: (d, name) => d.scheduler.resume(name) },
};

/** Fetch now (a pass now, or right after the running one), pause or resume polling of a mailbox. */
export async function mailboxAction(
  d: ActionDeps,
  action: MailboxAction,
  name: string,
  user: string,
): Promise<void> {
  if (!d.scheduler.statuses().some((s) => s.name === name)) throw new ActionError(404, 'no such mailbox');
  const { done, act } = MAILBOX_ACTIONS[action];
  await act(d, name);
  logged(d, action, { mailbox: clip(name) }, user, `mailbox ${name}: ${done}`);
}
