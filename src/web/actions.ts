// What an admin may do to a message: release it to a recipient, retry it now, delete it. Each change is
// written with an entry in the message's history (who, what), and never while a session of its mailbox
// is running, so a pass and an admin never decide about the same message at once.
import { isAddress } from '../config/fields.js';
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
  if (!d.scheduler.statuses().some((s) => s.name === rec.mailbox)) {
    throw new ActionError(409, `mailbox ${rec.mailbox} is no longer configured`);
  }
  return rec;
}

function ensureIdle(d: ActionDeps, rec: MessageRecord): void {
  if (d.scheduler.busy(rec.mailbox)) {
    throw new ActionError(409, `a session of mailbox ${rec.mailbox} is running; try again in a moment`);
  }
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
  d.scheduler.requestRun(rec.mailbox);
  return updated;
}

/** Delivers a deferred message at the next pass, which starts now, instead of after its backoff. */
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
  d.scheduler.requestRun(rec.mailbox);
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
  return updated;
}
