// The scheduler's public types: a mailbox as it is scheduled, its status as the web page, the CLI and
// the alerts see it, the watchers of passes, and the scheduler's options.
import type { MailboxPlan, PassEvent, PassSummary } from '../connector/mailbox-pass.js';
import type { LeaseProvider } from './leases.js';
import type { PushSource } from './push.js';

/** A mailbox as the scheduler runs it: its pass plan, interval and, for IMAP IDLE, its push source. */
export type ScheduledPlan = MailboxPlan & { interval: number; push?: PushSource };

export type MailboxState = 'idle' | 'running' | 'failing' | 'paused';

export interface MailboxStatus {
  name: string;
  state: MailboxState;
  failures: number;
  nextRunAt: number | null;
  /** When deferred mail of this mailbox is next retried (its earliest nextAttemptAt), if any waits. */
  nextRetryAt: number | null;
  last?: PassSummary;
}

/** Watches passes as they happen: the web page's live updates and the metrics. */
export interface SchedulerWatcher {
  onEvent?: (event: PassEvent) => void;
  onPass?: (summary: PassSummary) => void;
  /** A mailbox's state changed (running, paused, resumed). */
  onState?: (status: MailboxStatus) => void;
}

export interface SchedulerOptions {
  concurrency: number;
  perHostConnections: number;
  /** Watching (IDLE) connections per host, counted apart from perHostConnections (DEFAULT_IDLE_CONNECTIONS). */
  idleConnections?: number;
  onEvent?: (event: PassEvent) => void;
  /** `retry`: the run only delivered waiting mail, without a provider session. */
  onPass?: (summary: PassSummary, retry: boolean) => void;
  /** Milliseconds stop() waits for the message in hand before dropping provider sessions. */
  shutdownGrace?: number;
  /** Milliseconds between health checks of a target that is down (DEFAULT_TARGET_CHECK_MS). */
  targetCheck?: number;
  /** Who may work on which mailbox (several instances on one PostgreSQL state); default: this one on all. */
  leases?: LeaseProvider;
}
