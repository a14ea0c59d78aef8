// Runs a mailbox's passes in its slot: a turn within the global and per-host limits, the lease, the
// pass itself with its per-message log lines, and what follows it: the next poll (backed off while the
// mailbox fails), a poll asked for meanwhile, and the retry of deferred mail at its time.
import type { MailboxPlan, PassSummary } from '../connector/mailbox-pass.js';
import { runMailboxPass } from '../connector/mailbox-pass.js';
import type { DeliveryContext } from '../delivery/attempt.js';
import { isPostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import { KeyedSemaphore, Semaphore } from '../util/semaphore.js';
import { nextPollDelay } from './backoff.js';
import { type LeaseProvider, localLeases, underLease } from './leases.js';
import { messageLine } from './log-lines.js';
import { heed, loginAllowed, loginWait } from './server-policy.js';
import { stopping } from './shutdown.js';
import type { RunMode, Slot } from './slot.js';
import type { SchedulerOptions, SchedulerWatcher } from './types.js';

export class PassRunner {
  private readonly global: Semaphore;
  private readonly perHost: KeyedSemaphore;
  readonly leases: LeaseProvider;
  readonly watchers = new Set<SchedulerWatcher>();
  /** Slots removed by a reload whose last pass still runs: stop() waits for them too. */
  readonly retiring = new Set<Slot>();
  /** The grace is over: sessions are dropped as soon as they open. */
  forced = false;

  /** `signal`: the scheduler's stop(). */
  constructor(
    private readonly ctx: DeliveryContext,
    private readonly options: SchedulerOptions,
    private readonly logger: Logger,
    private readonly signal: AbortSignal,
  ) {
    this.global = new Semaphore(options.concurrency);
    this.perHost = new KeyedSemaphore(options.perHostConnections);
    this.leases = options.leases ?? localLeases;
  }

  crashed(slot: Slot, err: unknown): void {
    if (isPostboteError(err) && err.code === 'CANCELLED' && this.signal.aborted) return;
    this.logger.error({ err }, `mailbox ${slot.plan.name}: pass crashed`);
  }

  notify(slot: Slot): void {
    for (const w of this.watchers) w.onState?.({ ...slot.status });
  }

  schedule(slot: Slot, delay: number): void {
    if (this.signal.aborted || slot.status.state === 'paused' || slot.removed) return;
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
    if (this.signal.aborted || slot.removed || slot.status.state === 'paused') return;
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

  /** `explicit`: a person asked for it (runNow, runAll), so a free mailbox is taken even if not ours. */
  run(slot: Slot, force: boolean, mode: RunMode, explicit = false): Promise<PassSummary> {
    if (slot.running) {
      // A poll asked for during a retry follows it (the retry did not read the provider).
      if (mode === 'poll' && slot.mode === 'retry') {
        return slot.running.catch(() => undefined).then(() => this.run(slot, force, mode, explicit));
      }
      return slot.running;
    }
    if (this.signal.aborted) return Promise.reject(stopping());
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
          if (this.signal.aborted) throw stopping();
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
              signal: this.signal,
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
    if (slot.removed || this.signal.aborted) return;
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
        await loginAllowed(slot, this.signal, this.logger);
        slot.lastLogin = Date.now();
        const session = await plan.open(...args);
        heed(slot, session, this.logger);
        if (this.forced) {
          session.abort();
          throw stopping();
        }
        slot.sessions.add(session);
        return session;
      },
    };
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
    this.schedule(slot, Math.max(nextPollDelay(interval, slot.status.failures, summary), loginWait(slot)));
    this.afterRun(slot);
    this.notify(slot);
  }
}
