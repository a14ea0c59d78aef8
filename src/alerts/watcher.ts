// The alert watcher, started by `postbote run` beside the scheduler: after every pass, on every change
// of the target's health and every `alerts.checkEvery`, it gathers what is wrong, steps the alert state
// (one alert when a condition starts, one recovery when it ends), saves it, and tells the postmaster by
// mail (queued like any message: one about the target waits for its return) and by the webhook.
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AlertsConfig, Config } from '../config/index.js';
import { attemptDelivery, type DeliveryContext, type MessageOrigin } from '../delivery/attempt.js';
import { queueNotice } from '../delivery/notice.js';
import { toPostboteError } from '../errors.js';
import { checkFilters } from '../filters/check.js';
import type { Logger } from '../log.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { seenCertificates } from './certificates.js';
import { type ActiveAlert, type AlertState, type Observation, step } from './conditions.js';
import { digestDue } from './digest-time.js';
import { alertLines, alertSubject, DIGEST_MAX_LISTED, digestLines, mailText } from './mail.js';
import {
  certificateObservations,
  diskObservation,
  mailboxObservations,
  quarantineObservation,
  scannerObservations,
  targetObservation,
  unknownMailboxes,
} from './observe.js';
import { alertsMailbox, alertsPath, loadAlertState, saveAlertState } from './state.js';
import { postWebhook, webhookPayload, webhookWhere } from './webhook.js';

export { ALERTS_MAILBOX } from './state.js';

const DAY_MS = 86_400_000;
// Webhook posts per tick at most: a burst (every mailbox failing at once) must not hold the tick for
// minutes of timeouts; what is left is in the mail and on the dashboard.
const MAX_WEBHOOKS_PER_TICK = 20;

export interface AlertWatcherDeps {
  config: Config;
  alerts: AlertsConfig;
  ctx: DeliveryContext;
  scheduler: Pick<Scheduler, 'watch' | 'statuses'>;
  logger: Logger;
  /** Scanner probes (default: `postbote check`'s, src/filters/check.ts). */
  probeScanners?: (config: Config) => Promise<Array<{ subject: string; ok: boolean; detail: string }>>;
}

export class AlertWatcher {
  private readonly path: string;
  private readonly log: Logger;
  private state: AlertState = { active: {}, pending: {} };
  private timer?: NodeJS.Timeout;
  private unwatch: Array<() => void> = [];
  private ticking?: Promise<void>;
  private again = false;
  private retryAll = false;
  private stopped = false;
  private readonly startedAt: number;

  constructor(private readonly d: AlertWatcherDeps) {
    this.path = alertsPath(d.config);
    this.log = d.logger.child({ component: 'alerts' });
    this.startedAt = d.ctx.now();
  }

  async start(): Promise<void> {
    this.state = await loadAlertState(this.path);
    if (!this.d.config.delivery.postmaster && this.d.alerts.mail)
      this.log.warn('alerts: no delivery.postmaster to mail them to; only the webhook and the dashboard');
    const poke = () => {
      this.poke();
    };
    this.unwatch.push(this.d.scheduler.watch({ onPass: poke }));
    this.unwatch.push(
      this.d.ctx.target.onHealth((health) => {
        // Back: what waited for it goes now, whatever its backoff said.
        if (health.state === 'ok') this.retryAll = true;
        this.poke();
      }),
    );
    this.timer = setInterval(poke, this.d.alerts.checkEvery);
    this.timer.unref();
    this.poke();
  }

  /** Active alerts, for the dashboard. */
  active(): ActiveAlert[] {
    return Object.values(this.state.active);
  }

  /** Runs a tick now, or right after the one in hand. Resolves when that tick is done. */
  poke(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      do {
        this.again = false;
        await this.tick().catch((err) =>
          this.log.error(
            { err: toPostboteError(err).toJSON() },
            `alerts: ${toPostboteError(err).describe()}`,
          ),
        );
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const u of this.unwatch) u();
    await this.ticking;
  }

  private async observe(now: number): Promise<{ seen: Observation[]; unknown: Set<string> }> {
    const { alerts, config, ctx } = this.d;
    const statuses = this.d.scheduler.statuses();
    const seen = [
      ...mailboxObservations(statuses, alerts.after),
      ...targetObservation(ctx.target.health, ctx.target.where, alerts.after),
      ...quarantineObservation((await ctx.store.counts()).quarantined, alerts.quarantineAbove),
      ...certificateObservations(seenCertificates(), alerts.certificateDays, now),
    ];
    const unknown = unknownMailboxes(statuses);
    if (ctx.target.health.state === 'unknown') unknown.add('target');
    // A certificate not seen since the start (its mailbox not polled yet) keeps its alert.
    const certs = new Set(seenCertificates().map((c) => `cert:${c.server}`));
    for (const key of Object.keys({ ...this.state.active, ...this.state.pending }))
      if (key.startsWith('cert:') && !certs.has(key)) unknown.add(key);
    const hasFilters = config.filters || config.mailboxes.some((m) => m.enabled && m.filters);
    if (hasFilters) seen.push(...scannerObservations(await (this.d.probeScanners ?? checkFilters)(config)));
    const dir = dirname(this.path);
    try {
      seen.push(...diskObservation(dir, await statfs(dir), alerts.disk));
    } catch {
      unknown.add('disk'); // statfs unsupported here: say nothing rather than something wrong
    }
    return { seen, unknown };
  }

  private async tick(): Promise<void> {
    const now = this.d.ctx.now();
    const { seen, unknown } = await this.observe(now);
    const r = step(this.state, seen, now, (key) => unknown.has(key));
    // Saved before telling anyone: a crash in between loses a mail, never floods after a restart.
    if (r.raised.length + r.cleared.length > 0 || JSON.stringify(r.state) !== JSON.stringify(this.state)) {
      await saveAlertState(this.path, r.state);
    }
    this.state = r.state;
    const news = [
      ...r.raised.map((a) => ({ alert: a, cleared: false })),
      ...r.cleared.map((a) => ({ alert: a, cleared: true })),
    ];
    for (const { alert, cleared } of news) {
      const line = `${cleared ? 'resolved' : 'alert'}: ${alert.title}`;
      if (cleared) this.log.info({ alert: alert.key }, line);
      else this.log.warn({ alert: alert.key, detail: alert.detail }, line);
      await this.queueMail(
        alertSubject(alert, cleared),
        alertLines(this.d.ctx.hostname, alert, cleared),
        `postmaster alert ${alert.key}`,
      );
    }
    await this.webhooks(news, now);
    await this.digestIfDue(now);
    await this.deliverQueued();
  }

  private async queueMail(subject: string, lines: string[], reason: string): Promise<void> {
    const postmaster = this.d.config.delivery.postmaster;
    if (!this.d.alerts.mail || !postmaster) return;
    const { ctx } = this.d;
    await queueNotice(ctx, {
      mailbox: alertsMailbox(this.d.config),
      postmaster,
      text: mailText(ctx.hostname, new Date(ctx.now()), subject, lines),
      subject,
      reason,
    });
  }

  private async webhooks(news: Array<{ alert: ActiveAlert; cleared: boolean }>, now: number): Promise<void> {
    const hook = this.d.alerts.webhook;
    if (!hook) return;
    for (const { alert, cleared } of news.slice(0, MAX_WEBHOOKS_PER_TICK)) {
      try {
        await postWebhook(hook.url, webhookPayload(alert, cleared, this.d.ctx.hostname, now), hook.timeout);
      } catch (err) {
        const e = toPostboteError(err, webhookWhere(hook.url));
        this.log.warn({ alert: alert.key }, `alerts: ${e.describe()}`);
      }
    }
    if (news.length > MAX_WEBHOOKS_PER_TICK)
      this.log.warn(`alerts: ${news.length - MAX_WEBHOOKS_PER_TICK} webhook post(s) left out in this burst`);
  }

  /** Sends the daily digest when its time has come since the last one. */
  private async digestIfDue(now: number): Promise<void> {
    const at = this.d.alerts.digest?.at;
    if (!at) return;
    const last = this.state.digestAt ?? this.startedAt;
    if (!digestDue(at, last, now)) return;
    await this.sendDigest(Math.max(last, now - DAY_MS), now);
  }

  /** The digest of what was quarantined (fetched) from `since` to `now`; public for tests. */
  async sendDigest(since: number, now: number): Promise<void> {
    const { messages, total } = await this.d.ctx.store.searchMessages({
      states: ['quarantined'],
      since,
      until: now + 1,
      limit: DIGEST_MAX_LISTED,
    });
    this.state = { ...this.state, digestAt: now };
    await saveAlertState(this.path, this.state);
    await this.queueMail(
      `[Postbote] daily digest: ${total} message(s) quarantined`,
      digestLines(this.d.ctx.hostname, messages, total, since, now),
      'postmaster daily digest',
    );
  }

  /** Delivers the queued alert mail, one at a time, unless the target is known to be down. */
  private async deliverQueued(): Promise<void> {
    const { ctx } = this.d;
    const health = ctx.target.health.state;
    if (health === 'down' || health === 'refusing') return; // the health check says when it is back
    const origin: MessageOrigin = { protocol: 'pop3', server: 'localhost', secure: false };
    const all = this.retryAll;
    this.retryAll = false;
    const now = ctx.now();
    for (const rec of await ctx.store.pending(alertsMailbox(this.d.config))) {
      if (this.stopped || rec.spoolKey === null) continue;
      if (!all && rec.nextAttemptAt !== null && rec.nextAttemptAt > now) continue;
      const outcome = await attemptDelivery(ctx, origin, rec);
      if (outcome.kind === 'target-unavailable') return;
    }
  }
}
