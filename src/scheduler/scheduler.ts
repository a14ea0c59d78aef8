// Polls each mailbox on its interval: many in parallel, a bounded number of sessions per provider host,
// never two sessions on one mailbox, backing off while a mailbox fails. Deferred mail is retried on its
// own time (nextAttemptAt) and at once when the target comes back, without a provider session but in the
// mailbox's slot, so a retry and a poll never work on one mailbox at once. stop() lets each session
// finish the message in hand, commit, and close, within a bounded grace.
//
// This module is the scheduler's face (which mailboxes, when, pause/resume, reload, stop); running a
// pass in a mailbox's slot and what follows it is pass-runner.ts.

import type { PassSummary } from '../connector/mailbox-pass.js';
import type { DeliveryContext } from '../delivery/attempt.js';
import type { TargetHealth } from '../delivery/target.js';
import type { Logger } from '../log.js';
import { longestFirst } from './longest-first.js';
import { PassRunner } from './pass-runner.js';
import { DEFAULT_IDLE_CONNECTIONS, PushWatchers } from './push.js';
import { DEFAULT_SHUTDOWN_GRACE_MS, dropSessions, STOP_SETTLE_MS, settles } from './shutdown.js';
import { newSlot, type Slot } from './slot.js';
import type { MailboxStatus, ScheduledPlan, SchedulerOptions, SchedulerWatcher } from './types.js';

export { needsAction, nextPollDelay } from './backoff.js';
export { DEFAULT_SHUTDOWN_GRACE_MS } from './shutdown.js';
export type {
  MailboxState,
  MailboxStatus,
  ScheduledPlan,
  SchedulerOptions,
  SchedulerWatcher,
} from './types.js';

/** Spread the first polls so many mailboxes do not connect at the same instant. */
const START_SPREAD_MS = 5_000;
/**
 * While the target is down or refuses Postbote, how often it is checked (a connection with EHLO, no
 * mail): a minute brings deferred mail in within a minute of the server's return, at one connection a
 * minute, which no server minds.
 */
export const DEFAULT_TARGET_CHECK_MS = 60_000;

export class Scheduler {
  private readonly slots = new Map<string, Slot>();
  private readonly abort = new AbortController();
  /** Turns, leases, the passes themselves and what follows each. */
  private readonly runner: PassRunner;
  private checkTimer?: NodeJS.Timeout;
  private targetWas: TargetHealth['state'] = 'unknown';
  private unwatchTarget?: () => void;
  /** IDLE watchers: new mail runs the mailbox's pass at once. */
  private readonly push: PushWatchers;

  constructor(
    private readonly ctx: DeliveryContext,
    plans: ScheduledPlan[],
    private readonly options: SchedulerOptions,
    private readonly logger: Logger,
  ) {
    this.runner = new PassRunner(ctx, options, logger, this.abort.signal);
    // A mailbox handed over by a dead instance is polled at once, not an interval later.
    this.runner.leases.onGained?.((name) => {
      if (this.started && this.slots.has(name)) this.requestRun(name);
    });
    for (const plan of plans) this.slots.set(plan.name, newSlot(plan));
    this.push = new PushWatchers(
      options.idleConnections ?? DEFAULT_IDLE_CONNECTIONS,
      (name, folder) => this.pushed(name, folder),
      logger,
    );
  }

  private started = false;

  start(): void {
    this.started = true;
    for (const slot of this.slots.values()) this.runner.schedule(slot, Math.random() * START_SPREAD_MS);
    this.targetWas = this.ctx.target.health.state;
    this.unwatchTarget = this.ctx.target.onHealth((health) => this.targetChanged(health));
    this.push.sync(this.pushPlans());
  }

  private pushPlans(): ScheduledPlan[] {
    return [...this.slots.values()].map((s) => s.plan);
  }

  /**
   * A watcher saw new mail: the mailbox's pass runs now, or once more after the one in hand (which may
   * have listed before the mail came). Bursts coalesce into that one follow-up.
   */
  private pushed(name: string, folder: string): void {
    const slot = this.slots.get(name);
    if (!slot || slot.removed || slot.status.state === 'paused' || this.abort.signal.aborted) return;
    this.logger.debug({ mailbox: name, folder }, 'new mail announced: running a pass');
    this.requestRun(name);
  }

  /**
   * Applies a reloaded configuration's mailboxes. A pass in hand finishes with the plan it started with;
   * a removed mailbox's pass finishes, then nothing more is scheduled; an added one is polled soon.
   */
  reconfigure(plans: ScheduledPlan[]): void {
    const next = new Map(plans.map((p) => [p.name, p]));
    for (const [name, slot] of this.slots) {
      if (next.has(name)) continue;
      slot.removed = true;
      clearTimeout(slot.timer);
      clearTimeout(slot.retryTimer);
      this.slots.delete(name);
      if (slot.running) this.runner.retiring.add(slot);
    }
    for (const plan of plans) {
      const slot = this.slots.get(plan.name);
      if (!slot) {
        const added = newSlot(plan);
        this.slots.set(plan.name, added);
        if (this.started) this.runner.schedule(added, Math.random() * START_SPREAD_MS);
        this.runner.notify(added);
        continue;
      }
      const interval = slot.plan.interval;
      slot.plan = plan;
      // A shorter interval applies now; a longer one from the next poll on.
      const { nextRunAt } = slot.status;
      if (plan.interval < interval && !slot.running && nextRunAt !== null) {
        this.runner.schedule(slot, Math.min(Math.max(0, nextRunAt - Date.now()), plan.interval));
      }
    }
    if (this.started) this.push.sync(this.pushPlans());
  }

  statuses(): MailboxStatus[] {
    return [...this.slots.values()].map((s) => ({ ...s.status }));
  }

  /**
   * Runs one pass of a mailbox now (or joins the one running): never two sessions on one mailbox. A
   * mailbox another instance holds is not run here: the summary names that instance (`heldBy`).
   */
  runNow(name: string, force = false): Promise<PassSummary> {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`no mailbox named ${name}`);
    return this.runner.run(slot, force, 'poll', true);
  }

  /** One pass over every mailbox, in parallel within the limits (`postbote fetch`). */
  async runAll(names?: string[], force = true): Promise<PassSummary[]> {
    const slots = [...this.slots.values()].filter((s) => !names || names.includes(s.plan.name));
    const passes = new Map<Slot, Promise<PassSummary>>();
    // Turns are granted in call order: the order of the calls is the order of the starts.
    for (const s of await longestFirst(slots, this.options, this.ctx.store)) {
      passes.set(s, this.runner.run(s, force, 'poll', true));
    }
    return Promise.all(slots.map((s) => passes.get(s)!));
  }

  /** Adds a watcher; returns the function that removes it. */
  watch(watcher: SchedulerWatcher): () => void {
    this.runner.watchers.add(watcher);
    return () => this.runner.watchers.delete(watcher);
  }

  /** Whether a session of this mailbox is running or waiting for its turn. */
  busy(name: string): boolean {
    return this.slots.get(name)?.running !== undefined;
  }

  /**
   * Runs a pass as soon as possible without waiting for it: now, or right after the one in hand, which
   * may have read the store before the change that asked for it (a released or retried message). A
   * mailbox that another instance sharing the database works on is left to it (logged at debug).
   */
  requestRun(name: string): void {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`no mailbox named ${name}`);
    if (this.abort.signal.aborted) return;
    if (slot.running) slot.again = true;
    else this.runner.run(slot, false, 'poll').catch((err) => this.runner.crashed(slot, err));
  }

  pause(name: string): void {
    const slot = this.slots.get(name);
    if (!slot) return;
    clearTimeout(slot.timer);
    clearTimeout(slot.retryTimer);
    slot.status.state = 'paused';
    slot.status.nextRunAt = null;
    slot.status.nextRetryAt = null;
    this.runner.notify(slot);
  }

  resume(name: string): void {
    const slot = this.slots.get(name);
    if (slot?.status.state !== 'paused') return;
    slot.status.state = slot.status.failures > 0 ? 'failing' : 'idle';
    this.runner.schedule(slot, 0);
    this.runner.notify(slot);
  }

  /**
   * Stops polling; sessions finish the message in hand, commit and close. A pass still busy after the
   * shutdown grace (a trickling provider) has its provider sessions dropped: nothing is committed at
   * the provider, so nothing is lost. Resolves true once every pass ended, false if a delivery in flight
   * still held one STOP_SETTLE_MS later (the caller then must not close what that delivery uses).
   */
  async stop(): Promise<boolean> {
    // The watchers first: new mail must not start a pass while the others wind down.
    this.abort.abort();
    await this.push.stopAll();
    clearInterval(this.checkTimer);
    this.unwatchTarget?.();
    for (const slot of this.slots.values()) {
      clearTimeout(slot.timer);
      clearTimeout(slot.retryTimer);
    }
    const all = [...this.slots.values(), ...this.runner.retiring];
    const passes = Promise.all(all.map((s) => s.running?.catch(() => undefined)));
    if (await settles(passes, this.options.shutdownGrace ?? DEFAULT_SHUTDOWN_GRACE_MS)) return true;
    this.runner.forced = true;
    dropSessions(all, this.logger);
    return settles(passes, STOP_SETTLE_MS);
  }

  /** The target's health changed: back means every deferred message is retried now; down means checks. */
  private targetChanged(health: TargetHealth): void {
    const was = this.targetWas;
    this.targetWas = health.state;
    if (this.abort.signal.aborted) return;
    // unknown → ok is the first delivery of the run, not a return.
    if (health.state === 'ok' && (was === 'down' || was === 'refusing')) {
      clearInterval(this.checkTimer);
      this.checkTimer = undefined;
      for (const slot of this.slots.values()) {
        if (slot.status.state === 'paused') continue;
        if (slot.running) slot.retryAll = true;
        else this.runner.run(slot, true, 'retry').catch((err) => this.runner.crashed(slot, err));
      }
    } else if ((health.state === 'down' || health.state === 'refusing') && !this.checkTimer) {
      this.checkTimer = setInterval(() => {
        this.ctx.target.check().catch(() => undefined);
      }, this.options.targetCheck ?? DEFAULT_TARGET_CHECK_MS);
    }
  }
}
