// Polls each mailbox on its interval: many in parallel, a bounded number of sessions per provider host,
// never two sessions on one mailbox, backing off while a mailbox fails. stop() lets each session finish
// the message in hand, commit, and close, within a bounded grace.

import { setTimeout as delay } from 'node:timers/promises';
import type { MailboxPlan, PassEvent, PassSummary } from '../connector/mailbox-pass.js';
import { runMailboxPass } from '../connector/mailbox-pass.js';
import type { DeliveryContext } from '../delivery/attempt.js';
import { isPostboteError, PostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SourceSession } from '../source/types.js';
import { KeyedSemaphore, Semaphore } from '../util/semaphore.js';

/** However long the interval, a failing mailbox is retried at least this often. */
const MAX_FAILURE_BACKOFF_MS = 3_600_000;
/** Spread the first polls so many mailboxes do not connect at the same instant. */
const START_SPREAD_MS = 5_000;
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
const STOP_SETTLE_MS = 10_000;

export type MailboxState = 'idle' | 'running' | 'failing' | 'paused';

export interface MailboxStatus {
  name: string;
  state: MailboxState;
  failures: number;
  nextRunAt: number | null;
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
  onEvent?: (event: PassEvent) => void;
  onPass?: (summary: PassSummary) => void;
  /** Milliseconds stop() waits for the message in hand before dropping provider sessions. */
  shutdownGrace?: number;
}

interface Slot {
  plan: MailboxPlan & { interval: number };
  status: MailboxStatus;
  timer?: NodeJS.Timeout;
  running?: Promise<PassSummary>;
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

export class Scheduler {
  private readonly slots = new Map<string, Slot>();
  private readonly global: Semaphore;
  private readonly perHost: KeyedSemaphore;
  private readonly abort = new AbortController();
  private readonly watchers = new Set<SchedulerWatcher>();
  /** The grace is over: sessions are dropped as soon as they open. */
  private forced = false;

  constructor(
    private readonly ctx: DeliveryContext,
    plans: Array<MailboxPlan & { interval: number }>,
    private readonly options: SchedulerOptions,
    private readonly logger: Logger,
  ) {
    this.global = new Semaphore(options.concurrency);
    this.perHost = new KeyedSemaphore(options.perHostConnections);
    for (const plan of plans) {
      this.slots.set(plan.name, {
        plan,
        status: { name: plan.name, state: 'idle', failures: 0, nextRunAt: null },
        sessions: new Set(),
      });
    }
  }

  start(): void {
    for (const slot of this.slots.values()) this.schedule(slot, Math.random() * START_SPREAD_MS);
  }

  statuses(): MailboxStatus[] {
    return [...this.slots.values()].map((s) => ({ ...s.status }));
  }

  /** Runs one pass of a mailbox now (or joins the one running): never two sessions on one mailbox. */
  runNow(name: string, force = false): Promise<PassSummary> {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`no mailbox named ${name}`);
    return this.run(slot, force);
  }

  /** One pass over every mailbox, in parallel within the limits (`postbote fetch`). */
  async runAll(names?: string[], force = true): Promise<PassSummary[]> {
    const slots = [...this.slots.values()].filter((s) => !names || names.includes(s.plan.name));
    return Promise.all(slots.map((s) => this.run(s, force)));
  }

  /** Adds a watcher; returns the function that removes it. */
  watch(watcher: SchedulerWatcher): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /** Whether a session of this mailbox is running or waiting for its turn. */
  busy(name: string): boolean {
    return this.slots.get(name)?.running !== undefined;
  }

  /**
   * Runs a pass as soon as possible without waiting for it: now, or right after the one in hand, which
   * may have read the store before the change that asked for it (a released or retried message).
   */
  requestRun(name: string): void {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`no mailbox named ${name}`);
    if (this.abort.signal.aborted) return;
    if (slot.running) slot.again = true;
    else this.run(slot, false).catch((err) => this.crashed(slot, err));
  }

  private crashed(slot: Slot, err: unknown): void {
    if (isPostboteError(err) && err.code === 'CANCELLED' && this.abort.signal.aborted) return;
    this.logger.error({ err }, `mailbox ${slot.plan.name}: pass crashed`);
  }

  private notify(slot: Slot): void {
    for (const w of this.watchers) w.onState?.({ ...slot.status });
  }

  pause(name: string): void {
    const slot = this.slots.get(name);
    if (!slot) return;
    clearTimeout(slot.timer);
    slot.status.state = 'paused';
    slot.status.nextRunAt = null;
    this.notify(slot);
  }

  resume(name: string): void {
    const slot = this.slots.get(name);
    if (slot?.status.state !== 'paused') return;
    slot.status.state = slot.status.failures > 0 ? 'failing' : 'idle';
    this.schedule(slot, 0);
    this.notify(slot);
  }

  /**
   * Stops polling; sessions finish the message in hand, commit and close. A pass still busy after the
   * shutdown grace (a trickling provider) has its provider sessions dropped: nothing is committed at
   * the provider, so nothing is lost. Resolves true once every pass ended, false if a delivery in flight
   * still held one STOP_SETTLE_MS later (the caller then must not close what that delivery uses).
   */
  async stop(): Promise<boolean> {
    this.abort.abort();
    for (const slot of this.slots.values()) clearTimeout(slot.timer);
    const passes = Promise.all([...this.slots.values()].map((s) => s.running?.catch(() => undefined)));
    if (await settles(passes, this.options.shutdownGrace ?? DEFAULT_SHUTDOWN_GRACE_MS)) return true;
    this.forced = true;
    for (const slot of this.slots.values()) {
      if (slot.sessions.size === 0) continue;
      this.logger.warn(
        { mailbox: slot.plan.name },
        `mailbox ${slot.plan.name}: still busy after the shutdown grace; closing its provider session without committing (messages stay on the server)`,
      );
      for (const session of slot.sessions) session.abort();
    }
    return settles(passes, STOP_SETTLE_MS);
  }

  private schedule(slot: Slot, delay: number): void {
    if (this.abort.signal.aborted || slot.status.state === 'paused') return;
    clearTimeout(slot.timer);
    slot.status.nextRunAt = Date.now() + delay;
    slot.timer = setTimeout(() => {
      this.run(slot, false).catch((err) => this.crashed(slot, err));
    }, delay);
  }

  private run(slot: Slot, force: boolean): Promise<PassSummary> {
    if (slot.running) return slot.running;
    if (this.abort.signal.aborted) return Promise.reject(stopping());
    clearTimeout(slot.timer);
    slot.status.nextRunAt = null;
    const running = this.global
      .run(() =>
        this.perHost.for(slot.plan.host).run(() => {
          // Stopped while waiting for a turn: no new session, no new delivery.
          if (this.abort.signal.aborted) throw stopping();
          slot.status.state = 'running';
          this.notify(slot);
          return runMailboxPass(this.ctx, this.tracked(slot), {
            force,
            signal: this.abort.signal,
            onEvent: (event) => {
              this.options.onEvent?.(event);
              for (const w of this.watchers) w.onEvent?.(event);
            },
          });
        }),
      )
      .then((summary) => {
        this.finished(slot, summary);
        return summary;
      })
      .finally(() => {
        slot.running = undefined;
        slot.sessions.clear();
      });
    slot.running = running;
    return running;
  }

  /** The slot's plan, with the sessions it opens remembered so stop() can drop them. */
  private tracked(slot: Slot): MailboxPlan {
    return {
      ...slot.plan,
      open: async (...args: Parameters<MailboxPlan['open']>) => {
        await this.loginAllowed(slot);
        slot.lastLogin = Date.now();
        const session = await slot.plan.open(...args);
        this.heed(slot, session);
        if (this.forced) {
          session.abort();
          throw stopping();
        }
        slot.sessions.add(session);
        return session;
      },
    };
  }

  /** Waits out the server's LOGIN-DELAY since the last login (also for passes run now and reopened sessions). */
  private async loginAllowed(slot: Slot): Promise<void> {
    const wait = this.loginWait(slot);
    if (wait <= 0) return;
    this.logger.debug({ mailbox: slot.plan.name, wait }, 'waiting for the server’s LOGIN-DELAY');
    await delay(wait, undefined, { signal: this.abort.signal }).catch(() => {
      throw stopping();
    });
  }

  private loginWait(slot: Slot): number {
    if (slot.lastLogin === undefined || !slot.loginDelay) return 0;
    return slot.lastLogin + slot.loginDelay - Date.now();
  }

  /** What the server announced: LOGIN-DELAY for the next login, EXPIRE 0 against keep mode. */
  private heed(slot: Slot, session: SourceSession): void {
    const policy = session.policy;
    slot.loginDelay = policy?.loginDelay !== undefined ? policy.loginDelay * 1000 : undefined;
    if (policy?.expire === 0 && slot.plan.keep && !slot.expireWarned) {
      slot.expireWarned = true;
      this.logger.warn(
        { mailbox: slot.plan.name },
        'the server announces EXPIRE 0: it deletes every message once retrieved, so keep cannot be honoured',
      );
    }
  }

  private finished(slot: Slot, summary: PassSummary): void {
    const paused = slot.status.state === 'paused';
    slot.status.last = summary;
    slot.status.failures = summary.ok ? 0 : slot.status.failures + 1;
    slot.status.state = paused ? 'paused' : summary.ok ? 'idle' : 'failing';
    this.options.onPass?.(summary);
    for (const w of this.watchers) w.onPass?.(summary);
    const interval = slot.plan.interval;
    const again = slot.again === true;
    slot.again = false;
    const wait = again
      ? 0
      : summary.ok
        ? interval
        : Math.min(interval * 2 ** (slot.status.failures - 1), Math.max(interval, MAX_FAILURE_BACKOFF_MS));
    this.schedule(slot, Math.max(wait, this.loginWait(slot)));
    this.notify(slot);
  }
}

function stopping(): PostboteError {
  return new PostboteError('CANCELLED', 'Postbote is shutting down', { temporary: true });
}

/** Whether `p` settles within `ms`. */
async function settles(p: Promise<unknown>, ms: number): Promise<boolean> {
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
