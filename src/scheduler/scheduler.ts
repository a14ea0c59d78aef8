// Polls each mailbox on its interval: many in parallel, a bounded number of sessions per provider host,
// never two sessions on one mailbox, backing off while a mailbox fails. stop() lets each session finish
// the message in hand, commit, and close.

import type { MailboxPlan, PassEvent, PassSummary } from '../connector/mailbox-pass.js';
import { runMailboxPass } from '../connector/mailbox-pass.js';
import type { DeliveryContext } from '../delivery/attempt.js';
import type { Logger } from '../log.js';
import { KeyedSemaphore, Semaphore } from '../util/semaphore.js';

/** However long the interval, a failing mailbox is retried at least this often. */
const MAX_FAILURE_BACKOFF_MS = 3_600_000;
/** Spread the first polls so many mailboxes do not connect at the same instant. */
const START_SPREAD_MS = 5_000;

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
}

interface Slot {
  plan: MailboxPlan & { interval: number };
  status: MailboxStatus;
  timer?: NodeJS.Timeout;
  running?: Promise<PassSummary>;
  /** Another pass was asked for while one ran (it may have started before the request): run again. */
  again?: boolean;
}

export class Scheduler {
  private readonly slots = new Map<string, Slot>();
  private readonly global: Semaphore;
  private readonly perHost: KeyedSemaphore;
  private readonly abort = new AbortController();
  private readonly watchers = new Set<SchedulerWatcher>();

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
    if (slot.running) slot.again = true;
    else
      this.run(slot, false).catch((err) =>
        this.logger.error({ err }, `mailbox ${slot.plan.name}: pass crashed`),
      );
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

  /** Stops polling; sessions finish the message in hand, commit and close. */
  async stop(): Promise<void> {
    this.abort.abort();
    for (const slot of this.slots.values()) clearTimeout(slot.timer);
    await Promise.all([...this.slots.values()].map((s) => s.running?.catch(() => undefined)));
  }

  private schedule(slot: Slot, delay: number): void {
    if (this.abort.signal.aborted || slot.status.state === 'paused') return;
    clearTimeout(slot.timer);
    slot.status.nextRunAt = Date.now() + delay;
    slot.timer = setTimeout(() => {
      this.run(slot, false).catch((err) =>
        this.logger.error({ err }, `mailbox ${slot.plan.name}: pass crashed`),
      );
    }, delay);
  }

  private run(slot: Slot, force: boolean): Promise<PassSummary> {
    if (slot.running) return slot.running;
    clearTimeout(slot.timer);
    slot.status.nextRunAt = null;
    const running = this.global
      .run(() =>
        this.perHost.for(slot.plan.host).run(() => {
          slot.status.state = 'running';
          this.notify(slot);
          return runMailboxPass(this.ctx, slot.plan, {
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
      });
    slot.running = running;
    return running;
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
    const delay = again
      ? 0
      : summary.ok
        ? interval
        : Math.min(interval * 2 ** (slot.status.failures - 1), Math.max(interval, MAX_FAILURE_BACKOFF_MS));
    this.schedule(slot, delay);
    this.notify(slot);
  }
}
