// A mailbox as the scheduler holds it: its plan and status, its timers, the pass in hand and what was
// asked for meanwhile, the provider sessions that pass opened, and what the server announced.
import type { PassSummary } from '../connector/mailbox-pass.js';
import type { SourceSession } from '../source/types.js';
import type { MailboxStatus, ScheduledPlan } from './types.js';

/** A poll opens a provider session; a retry only delivers what is spooled and due. */
export type RunMode = 'poll' | 'retry';

export interface Slot {
  plan: ScheduledPlan;
  status: MailboxStatus;
  timer?: NodeJS.Timeout;
  retryTimer?: NodeJS.Timeout;
  running?: Promise<PassSummary>;
  mode?: RunMode;
  /** The target came back while a pass ran: retry everything deferred right after it. */
  retryAll?: boolean;
  /** Removed by a reload: the pass in hand finishes, nothing more is scheduled. */
  removed?: boolean;
  /** Another pass was asked for while one ran (it may have started before the request): run again. */
  again?: boolean;
  /** Provider sessions the running pass opened: stop() drops them once the grace is over. */
  sessions: Set<SourceSession>;
  /** When the last session logged in, and the server's LOGIN-DELAY (RFC 2449) in ms: no login before both passed. */
  lastLogin?: number;
  loginDelay?: number;
  /** EXPIRE 0 in keep mode was warned about (once per process). */
  expireWarned?: boolean;
}

export function newSlot(plan: ScheduledPlan): Slot {
  return {
    plan,
    status: { name: plan.name, state: 'idle', failures: 0, nextRunAt: null, nextRetryAt: null },
    sessions: new Set(),
  };
}
