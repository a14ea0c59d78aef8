// Polls each mailbox on its interval: many in parallel, a bounded number of sessions per provider host,
// never two sessions on one mailbox, backing off while a mailbox fails. Deferred mail is retried on its
// own time (nextAttemptAt) and at once when the target comes back, without a provider session but in the
// mailbox's slot, so a retry and a poll never work on one mailbox at once. stop() lets each session
// finish the message in hand, commit, and close, within a bounded grace.

import { setTimeout as delay } from 'node:timers/promises';
import type { MailboxPlan, PassEvent, PassSummary } from '../connector/mailbox-pass.js';
import { runMailboxPass } from '../connector/mailbox-pass.js';
import type { DeliveryContext } from '../delivery/attempt.js';
import type { TargetHealth } from '../delivery/target.js';
import { isPostboteError, PostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import type { SourceSession } from '../source/types.js';
import { KeyedSemaphore, Semaphore } from '../util/semaphore.js';
import { nextPollDelay } from './backoff.js';
import { type LeaseProvider, localLeases, underLease } from './leases.js';
import { messageLine } from './log-lines.js';
import { DEFAULT_IDLE_CONNECTIONS, type PushSource, PushWatchers } from './push.js';

export { needsAction, nextPollDelay } from './backoff.js';

/** A mailbox as the scheduler runs it: its pass plan, interval and, for IMAP IDLE, its push source. */
export type ScheduledPlan = MailboxPlan & { interval: number; push?: PushSource };

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
/**
 * While the target is down or refuses Postbote, how often it is checked (a connection with EHLO, no
 * mail): a minute brings deferred mail in within a minute of the server's return, at one connection a
 * minute, which no server minds.
 */
export const DEFAULT_TARGET_CHECK_MS = 60_000;

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

/** A poll opens a provider session; a retry only delivers what is spooled and due. */
type RunMode = 'poll' | 'retry';

interface Slot {
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

export class Scheduler {
  private readonly slots = new Map<string, Slot>();
  private readonly global: Semaphore;
  private readonly perHost: KeyedSemaphore;
  private readonly abort = new AbortController();
  private readonly watchers = new Set<SchedulerWatcher>();
  /** Slots removed by a reload whose last pass still runs: stop() waits for them too. */
  private readonly retiring = new Set<Slot>();
  /** The grace is over: sessions are dropped as soon as they open. */
  private forced = false;
  private checkTimer?: NodeJS.Timeout;
  private targetWas: TargetHealth['state'] = 'unknown';
  private unwatchTarget?: () => void;
  /** IDLE watchers: new mail runs the mailbox's pass at once. */
  private readonly push: PushWatchers;
  private readonly leases: LeaseProvider;

  constructor(
    private readonly ctx: DeliveryContext,
    plans: ScheduledPlan[],
    private readonly options: SchedulerOptions,
    private readonly logger: Logger,
  ) {
    this.global = new Semaphore(options.concurrency);
    this.perHost = new KeyedSemaphore(options.perHostConnections);
    this.leases = options.leases ?? localLeases;
    // A mailbox handed over by a dead instance is polled at once, not an interval later.
    this.leases.onGained?.((name) => {
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
    for (const slot of this.slots.values()) this.schedule(slot, Math.random() * START_SPREAD_MS);
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
      if (slot.running) this.retiring.add(slot);
    }
    for (const plan of plans) {
      const slot = this.slots.get(plan.name);
      if (!slot) {
        const added = newSlot(plan);
        this.slots.set(plan.name, added);
        if (this.started) this.schedule(added, Math.random() * START_SPREAD_MS);
        this.notify(added);
        continue;
      }
      const interval = slot.plan.interval;
      slot.plan = plan;
      // A shorter interval applies now; a longer one from the next poll on.
      const { nextRunAt } = slot.status;
      if (plan.interval < interval && !slot.running && nextRunAt !== null) {
        this.schedule(slot, Math.min(Math.max(0, nextRunAt - Date.now()), plan.interval));
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
    return this.run(slot, force, 'poll', true);
  }

  /** One pass over every mailbox, in parallel within the limits (`postbote fetch`). */
  async runAll(names?: string[], force = true): Promise<PassSummary[]> {
    const slots = [...this.slots.values()].filter((s) => !names || names.includes(s.plan.name));
    const passes = new Map<Slot, Promise<PassSummary>>();
    // Turns are granted in call order: the order of the calls is the order of the starts.
    for (const s of await this.longestFirst(slots)) passes.set(s, this.run(s, force, 'poll', true));
    return Promise.all(slots.map((s) => passes.get(s)!));
  }

  /**
   * With more mailboxes than sessions, those whose last recorded pass took longest start first
   * (longest processing time first): a long one started in the last wave would run alone at the end
   * while the other sessions stand idle. Mailboxes never fetched count as short; ties keep the
   * configuration's order. When every mailbox gets a session at once, the order does not matter and
   * the store is not asked.
   */
  private async longestFirst(slots: Slot[]): Promise<Slot[]> {
    const perHost = new Map<string, number>();
    for (const s of slots) perHost.set(s.plan.host, (perHost.get(s.plan.host) ?? 0) + 1);
    const waits =
      slots.length > this.options.concurrency ||
      [...perHost.values()].some((n) => n > this.options.perHostConnections);
    if (!waits) return slots;
    const took = await Promise.all(
      slots.map(async (s) => {
        const [last] = await this.ctx.store.sessionsOf(s.plan.name, 1).catch(() => []);
        return last ? last.endedAt - last.startedAt : 0;
      }),
    );
    return slots
      .map((slot, i) => ({ slot, ms: took[i]! }))
      .sort((a, b) => b.ms - a.ms)
      .map((x) => x.slot);
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
   * may have read the store before the change that asked for it (a released or retried message). A
   * mailbox that another instance sharing the database works on is left to it (logged at debug).
   */
  requestRun(name: string): void {
    const slot = this.slots.get(name);
    if (!slot) throw new Error(`no mailbox named ${name}`);
    if (this.abort.signal.aborted) return;
    if (slot.running) slot.again = true;
    else this.run(slot, false, 'poll').catch((err) => this.crashed(slot, err));
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
    clearTimeout(slot.retryTimer);
    slot.status.state = 'paused';
    slot.status.nextRunAt = null;
    slot.status.nextRetryAt = null;
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
    // The watchers first: new mail must not start a pass while the others wind down.
    this.abort.abort();
    await this.push.stopAll();
    clearInterval(this.checkTimer);
    this.unwatchTarget?.();
    for (const slot of this.slots.values()) {
      clearTimeout(slot.timer);
      clearTimeout(slot.retryTimer);
    }
    const all = [...this.slots.values(), ...this.retiring];
    const passes = Promise.all(all.map((s) => s.running?.catch(() => undefined)));
    if (await settles(passes, this.options.shutdownGrace ?? DEFAULT_SHUTDOWN_GRACE_MS)) return true;
    this.forced = true;
    for (const slot of all) {
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
    if (this.abort.signal.aborted || slot.status.state === 'paused' || slot.removed) return;
    clearTimeout(slot.timer);
    slot.status.nextRunAt = Date.now() + delay;
    slot.timer = setTimeout(() => {
      this.run(slot, false, 'poll').catch((err) => this.crashed(slot, err));
    }, delay);
  }

  /**
   * Sets the slot's retry timer to the earliest nextAttemptAt of its waiting mail, so the time the web
   * page shows as next attempt is when it happens. While the target is down, mail already due waits for
   * the health check instead (retrying it on a timer would loop).
   */
  private async armRetry(slot: Slot): Promise<void> {
    const pending = await this.ctx.store.pending(slot.plan.name);
    clearTimeout(slot.retryTimer);
    slot.status.nextRetryAt = null;
    if (this.abort.signal.aborted || slot.removed || slot.status.state === 'paused') return;
    const now = this.ctx.now();
    const health = this.ctx.target.health.state;
    const usable = health === 'ok' || health === 'unknown';
    let due: number | undefined;
    for (const rec of pending) {
      if (rec.spoolKey === null) continue;
      const at = rec.nextAttemptAt ?? now;
      if (!usable && at <= now) continue;
      due = due === undefined ? at : Math.min(due, at);
    }
    if (due === undefined) return;
    slot.status.nextRetryAt = due;
    slot.retryTimer = setTimeout(
      () => this.run(slot, false, 'retry').catch((err) => this.crashed(slot, err)),
      Math.max(0, due - now),
    );
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
        else this.run(slot, true, 'retry').catch((err) => this.crashed(slot, err));
      }
    } else if ((health.state === 'down' || health.state === 'refusing') && !this.checkTimer) {
      this.checkTimer = setInterval(() => {
        this.ctx.target.check().catch(() => undefined);
      }, this.options.targetCheck ?? DEFAULT_TARGET_CHECK_MS);
    }
  }

  /** `explicit`: a person asked for it (runNow, runAll), so a free mailbox is taken even if not ours. */
  private run(slot: Slot, force: boolean, mode: RunMode, explicit = false): Promise<PassSummary> {
    if (slot.running) {
      // A poll asked for during a retry follows it (the retry did not read the provider).
      if (mode === 'poll' && slot.mode === 'retry') {
        return slot.running.catch(() => undefined).then(() => this.run(slot, force, mode, explicit));
      }
      return slot.running;
    }
    if (this.abort.signal.aborted) return Promise.reject(stopping());
    if (mode === 'poll') {
      clearTimeout(slot.timer);
      slot.status.nextRunAt = null;
    }
    clearTimeout(slot.retryTimer);
    const plan = this.tracked(slot);
    const running = this.global
      .run(() =>
        this.perHost.for(slot.plan.host).run(async () => {
          // Stopped while waiting for a turn: no new session, no new delivery.
          if (this.abort.signal.aborted) throw stopping();
          return underLease(this.leases, slot.plan.name, explicit, this.ctx, (lease) => {
            if (mode === 'poll') {
              slot.status.state = 'running';
              this.notify(slot);
            }
            // Which tenure of the mailbox's lease decided each message ('token' would be redacted).
            const log = lease.token === undefined ? this.logger : this.logger.child({ fence: lease.token });
            return runMailboxPass(lease.store ? { ...this.ctx, store: lease.store } : this.ctx, plan, {
              force,
              pendingOnly: mode === 'retry',
              signal: this.abort.signal,
              ...(lease.assert ? { assertLease: lease.assert } : {}),
              onEvent: (event) => {
                // Built only when written: 15-20 µs a message, 1 % of a fetch's CPU at log.level warn.
                if (event.type === 'message' && log.isLevelEnabled('info')) {
                  const line = messageLine(event.record, event.ms);
                  log.info(line.fields, line.msg);
                }
                this.options.onEvent?.(event);
                for (const w of this.watchers) w.onEvent?.(event);
              },
            });
          });
        }),
      )
      .finally(() => {
        slot.running = undefined;
        slot.mode = undefined;
        slot.sessions.clear();
        this.retiring.delete(slot);
      })
      .then((summary) => {
        if (summary.heldBy !== undefined) this.elsewhere(slot, summary, mode);
        else if (mode === 'poll') this.finished(slot, summary);
        else this.retried(slot, summary);
        return summary;
      });
    slot.running = running;
    slot.mode = mode;
    return running;
  }

  /** Another instance works on the mailbox: nothing to count or retry here; a poll looks again later. */
  private elsewhere(slot: Slot, summary: PassSummary, mode: RunMode): void {
    this.logger.debug(
      { mailbox: slot.plan.name, heldBy: summary.heldBy },
      'mailbox held elsewhere: not run here',
    );
    slot.again = false;
    slot.retryAll = false;
    if (mode === 'poll' && !slot.removed) {
      if (slot.status.state === 'running') slot.status.state = 'idle';
      this.schedule(slot, slot.plan.interval);
    }
  }

  private retried(slot: Slot, summary: PassSummary): void {
    if (summary.delivered + summary.deferred + summary.quarantined > 0) {
      this.options.onPass?.(summary, true);
      for (const w of this.watchers) w.onPass?.(summary);
    }
    this.afterRun(slot);
  }

  /** What a finished run leaves to do: a poll asked for meanwhile, retries, the next retry time. */
  private afterRun(slot: Slot): void {
    if (slot.removed || this.abort.signal.aborted) return;
    if (slot.again) {
      slot.again = false;
      this.schedule(slot, 0);
    }
    if (slot.retryAll && slot.status.state !== 'paused') {
      slot.retryAll = false;
      this.run(slot, true, 'retry').catch((err) => this.crashed(slot, err));
      return;
    }
    this.armRetry(slot).catch((err) => this.crashed(slot, err));
  }

  /**
   * The slot's plan as the pass starts (a reload mid-pass does not change it), with the sessions it
   * opens remembered so stop() can drop them.
   */
  private tracked(slot: Slot): MailboxPlan {
    const plan = slot.plan;
    return {
      ...plan,
      open: async (...args: Parameters<MailboxPlan['open']>) => {
        await this.loginAllowed(slot);
        slot.lastLogin = Date.now();
        const session = await plan.open(...args);
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
    if (slot.removed) return;
    const paused = slot.status.state === 'paused';
    slot.status.last = summary;
    slot.status.failures = summary.ok ? 0 : slot.status.failures + 1;
    slot.status.state = paused ? 'paused' : summary.ok ? 'idle' : 'failing';
    this.options.onPass?.(summary, false);
    for (const w of this.watchers) w.onPass?.(summary);
    const interval = slot.plan.interval;
    this.schedule(
      slot,
      Math.max(nextPollDelay(interval, slot.status.failures, summary), this.loginWait(slot)),
    );
    this.afterRun(slot);
    this.notify(slot);
  }
}

function newSlot(plan: ScheduledPlan): Slot {
  return {
    plan,
    status: { name: plan.name, state: 'idle', failures: 0, nextRunAt: null, nextRetryAt: null },
    sessions: new Set(),
  };
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
