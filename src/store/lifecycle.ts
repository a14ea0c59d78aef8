// A message's life cycle in one place, used by every store backend: which state may follow which,
// and the typed error for an update that lost a race (another writer changed the record first).
// Each backend applies an update as `UPDATE … WHERE id = ? AND state = <expected>`: 0 rows means the
// record moved on under us, and that is raised, never silently overwritten.
import { PostboteError } from '../errors.js';
import type { MessageState } from './types.js';

/**
 * The transitions an update may make. spooled → deferred/delivered/quarantined/duplicate (an attempt
 * or routing), deferred → retried, released or deleted by an admin, quarantined → released (spooled)
 * or deleted. delivered, duplicate and deleted are final for good: nothing may revive them (the
 * provider's copy may already be gone, and a second delivery would be a duplicate).
 * Same-state updates are allowed where they carry news: a new attempt's result or "retry now".
 */
export const TRANSITIONS: Readonly<Record<MessageState, ReadonlySet<MessageState>>> = {
  spooled: new Set(['spooled', 'deferred', 'delivered', 'quarantined', 'duplicate', 'deleted']),
  deferred: new Set(['spooled', 'deferred', 'delivered', 'quarantined', 'deleted']),
  quarantined: new Set(['spooled', 'deleted']),
  delivered: new Set(),
  duplicate: new Set(),
  deleted: new Set(),
};

export function canMove(from: MessageState, to: MessageState): boolean {
  return TRANSITIONS[from]?.has(to) ?? false;
}

/** A guarded update found the record in another state than it expected (or gone): it lost a race. */
export class StoreConflictError extends PostboteError {
  readonly messageId: number;
  readonly expected: MessageState;
  readonly actual: MessageState | undefined;

  constructor(id: number, expected: MessageState, actual: MessageState | undefined, wanted: MessageState) {
    super(
      'STORE',
      actual === undefined
        ? `message ${id} is not in the store (expected it ${expected})`
        : `message ${id} is ${actual}, not ${expected} as expected: not changed to ${wanted}`,
      {
        // The record is already where another writer put it; the next pass reads it afresh.
        temporary: true,
        hint: 'another writer (an admin action, another Postbote instance) changed this message first; nothing was overwritten',
      },
    );
    this.messageId = id;
    this.expected = expected;
    this.actual = actual;
  }
}

export function isStoreConflict(err: unknown): err is StoreConflictError {
  return err instanceof StoreConflictError;
}

/** Refuses a transition the life cycle does not allow (e.g. delivered → spooled), before any write. */
export function assertTransition(id: number, from: MessageState, to: MessageState): void {
  if (!canMove(from, to)) {
    throw new PostboteError('STORE', `message ${id} cannot go from ${from} to ${to}`, {
      temporary: false,
      hint: `a ${from} message is ${TRANSITIONS[from]?.size ? `only moved to ${[...TRANSITIONS[from]].join(', ')}` : 'final'}`,
    });
  }
}

/**
 * A new record refused because another writer recorded a copy of the same message (same fingerprint)
 * for some of its recipients after the caller's duplicate check and before this write — two instances
 * routing two copies at the same moment. Nothing was written; routed again, those recipients are
 * duplicates of the other copy.
 */
export class DuplicateRaceError extends PostboteError {
  /** The recipients (lower case) another writer recorded a copy for meanwhile. */
  readonly recipients: string[];

  constructor(fingerprint: string, recipients: string[]) {
    super('STORE', `a copy of ${fingerprint} was recorded meanwhile for ${recipients.join(', ')}`, {
      temporary: true,
      hint: 'routed again, the message is a duplicate for them; nothing was written',
    });
    this.recipients = recipients;
  }
}
