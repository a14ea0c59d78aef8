// What the pages and the JSON API show, gathered in one place so every page has its API twin:
// the dashboard, a mailbox with its sessions, the message log, one message with its attempts and headers.
import { alertsPath, loadAlertState } from '../alerts/state.js';
import type { Config } from '../config/index.js';
import type { Target } from '../delivery/target.js';
import type { PostboteError } from '../errors.js';
import { parseHeaders } from '../message/headers.js';
import { type MailboxStatus, needsAction, type Scheduler } from '../scheduler/scheduler.js';
import type { Spool } from '../spool/spool.js';
import type { Holder } from '../store/postgres-web.js';
import type {
  ActivityBucket,
  AttemptRecord,
  MessageQuery,
  MessageRecord,
  MessageState,
  Store,
  StoredSession,
} from '../store/types.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export interface DataDeps {
  config: Config;
  store: Store;
  spool: Spool;
  target: Target;
  scheduler: Scheduler;
  now: () => number;
  /** PostgreSQL state: which instance holds each mailbox (its live lease). */
  holders?: () => Promise<Map<string, Holder>>;
  /** This instance's name, shown on the dashboard. */
  instance?: string;
}

export interface ErrorView {
  code: string;
  message: string;
  hint?: string;
  where?: string;
  /** false: retrying alone will not help (wrong password, untrusted certificate). */
  temporary?: boolean;
  reply?: { code: number | string; enhanced?: string; text: string };
}

export interface MailboxView {
  name: string;
  protocol: string;
  host: string;
  port: number;
  user: string;
  /** ok / failing / paused as the admin reads it; running while a session is open. */
  state: 'ok' | 'failing' | 'paused' | 'running';
  failures: number;
  /** The last pass failed in a way only a person can fix: polled once an hour until then. */
  needsAction: boolean;
  nextRunAt: number | null;
  intervalMs: number;
  today: number;
  /**
   * PostgreSQL state only: the instance whose lease covers the mailbox now (`label#random`) and until
   * when, or null while no instance holds it. Absent with a folder state (one instance).
   */
  holder?: { owner: string; until: number } | null;
  last: {
    at: number;
    ok: boolean;
    fetched: number;
    delivered: number;
    deferred: number;
    quarantined: number;
    error: ErrorView | null;
  } | null;
}

export function errorView(e: PostboteError | undefined): ErrorView | null {
  if (!e) return null;
  return {
    code: e.code,
    message: e.message,
    hint: e.hint,
    where: e.where,
    temporary: e.temporary,
    reply: e.reply && { code: e.reply.code, enhanced: e.reply.enhanced, text: e.reply.text },
  };
}

function startOfDay(now: number): number {
  return now - (now % DAY_MS);
}

async function mailboxView(
  d: DataDeps,
  status: MailboxStatus,
  today: Map<string, number>,
  holders: Map<string, Holder> | undefined,
): Promise<MailboxView> {
  const m = d.config.mailboxes.find((x) => x.name === status.name);
  let last: MailboxView['last'] = null;
  if (status.last) {
    const s = status.last;
    last = {
      at: s.endedAt,
      ok: s.ok,
      fetched: s.fetched,
      delivered: s.delivered,
      deferred: s.deferred,
      quarantined: s.quarantined,
      error: errorView(s.error),
    };
  } else {
    // After a restart the scheduler knows nothing yet: the store remembers the last session.
    const [s] = await d.store.sessionsOf(status.name, 1);
    if (s) {
      last = {
        at: s.endedAt,
        ok: s.error === null,
        fetched: s.fetched,
        delivered: s.delivered,
        deferred: s.deferred,
        quarantined: s.quarantined,
        error: s.error === null ? null : { code: 'PREVIOUS_RUN', message: s.error },
      };
    }
  }
  const state = status.state === 'idle' ? (last && !last.ok ? 'failing' : 'ok') : status.state;
  return {
    name: status.name,
    protocol: m?.protocol ?? 'pop3',
    host: m?.host ?? '',
    port: m?.port ?? 0,
    user: m?.user ?? '',
    state,
    failures: status.failures,
    needsAction: status.last !== undefined && status.state !== 'running' && needsAction(status.last),
    nextRunAt: status.nextRunAt,
    intervalMs: m?.interval ?? d.config.scheduler.interval,
    today: today.get(status.name) ?? 0,
    ...(holders ? { holder: holderOf(holders.get(status.name)) } : {}),
    last,
  };
}

function holderOf(h: Holder | undefined): MailboxView['holder'] {
  return h ? { owner: h.owner, until: h.expiresAt } : null;
}

export async function mailboxes(d: DataDeps): Promise<MailboxView[]> {
  const today = await d.store.fetchedSince(startOfDay(d.now()));
  const holders = await d.holders?.();
  return Promise.all(d.scheduler.statuses().map((s) => mailboxView(d, s, today, holders)));
}

export interface Dashboard {
  /** This instance's name (instance: in the configuration, else host and folder). */
  instance?: string;
  mailboxes: MailboxView[];
  target: { where: string; state: string; since: number; error: ErrorView | null };
  counts: Record<MessageState, number>;
  hourly: ActivityBucket[];
  daily: ActivityBucket[];
  /** Postmaster alerts raised and not yet resolved, from the alert watcher's state file. */
  alerts: Array<{ key: string; title: string; detail: string; since: number }>;
}

export async function dashboard(d: DataDeps): Promise<Dashboard> {
  const now = d.now();
  const hourStart = now - (now % HOUR_MS) - 23 * HOUR_MS;
  const dayStart = startOfDay(now) - 6 * DAY_MS;
  const health = d.target.health;
  return {
    ...(d.instance ? { instance: d.instance } : {}),
    mailboxes: await mailboxes(d),
    target: {
      where: d.target.where,
      state: health.state,
      since: health.since,
      error: errorView(health.error),
    },
    counts: await d.store.counts(),
    hourly: await d.store.activity(hourStart, HOUR_MS, 24),
    daily: await d.store.activity(dayStart, DAY_MS, 7),
    alerts: d.config.alerts
      ? Object.values((await loadAlertState(alertsPath(d.config))).active).map((a) => ({
          key: a.key,
          title: a.title,
          detail: a.detail,
          since: a.since,
        }))
      : [],
  };
}

export async function mailbox(
  d: DataDeps,
  name: string,
): Promise<{ mailbox: MailboxView; sessions: StoredSession[] } | undefined> {
  const all = await mailboxes(d);
  const found = all.find((m) => m.name === name);
  if (!found) return undefined;
  return { mailbox: found, sessions: await d.store.sessionsOf(name, 50) };
}

export async function searchMessages(d: DataDeps, q: MessageQuery) {
  return d.store.searchMessages(q);
}

export interface MessageDetail {
  message: MessageRecord;
  attempts: AttemptRecord[];
  /** From the spool file while it exists (delivered messages no longer have one). */
  headers: Array<{ name: string; value: string }> | null;
}

export async function message(d: DataDeps, id: number): Promise<MessageDetail | undefined> {
  const rec = await d.store.get(id);
  if (!rec) return undefined;
  let headers: MessageDetail['headers'] = null;
  if (rec.spoolKey) {
    try {
      headers = parseHeaders(await d.spool.header(rec.spoolKey));
    } catch {
      headers = null; // the file went (delivered meanwhile): show the record without headers
    }
  }
  return { message: rec, attempts: await d.store.attemptsOf(id), headers };
}
