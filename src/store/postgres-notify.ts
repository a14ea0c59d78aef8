// Waking a mailbox's pass on whichever instance holds it (PostgreSQL state, several instances): an
// admin action on any instance sends NOTIFY postbote_run with the mailbox's name, and every instance
// LISTENs on a connection of its own and asks its scheduler for a pass (a no-op where it does not hold
// the mailbox). A lost listening connection is reopened with backoff; notifications sent meanwhile are
// lost, which costs only the wait until the mailbox's next interval.
import pg from 'pg';
import type { Logger } from '../log.js';
import { maskUrl, scrub } from './postgres-url.js';

export const RUN_CHANNEL = 'postbote_run';
/**
 * A mailbox name is at most 64 characters (the web API's bound); anything longer, or with control
 * characters, did not come from a Postbote and is ignored before it reaches the scheduler.
 */
export const MAX_RUN_PAYLOAD = 64;
/** First wait before reopening a lost listening connection; doubled per failure up to the maximum. */
const RECONNECT_MIN_MS = 1_000;
/** A database down for long is retried once a minute, not hammered. */
const RECONNECT_MAX_MS = 60_000;
// PostgreSQL cuts application_name at 63 bytes (NAMEDATALEN - 1).
const MAX_APP_NAME = 63;

type Queryable = pg.Pool | pg.PoolClient | pg.Client;

/** Asks every listening instance for a pass of `mailbox` (the holder runs it). */
export async function notifyRun(db: Queryable, mailbox: string): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [RUN_CHANNEL, mailbox]);
}

/** The mailbox name a notification carries, or undefined for anything a Postbote would not send. */
export function runPayload(payload: string | undefined): string | undefined {
  if (!payload || payload.length > MAX_RUN_PAYLOAD) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(payload)) return undefined;
  return payload;
}

export interface RunListenerOptions {
  url: string;
  /** Called with each well-formed mailbox name; the caller checks it is one of its mailboxes. */
  onRun: (mailbox: string) => void;
  logger: Logger;
  /** This instance's label, for the connection's application_name (seen in pg_stat_activity). */
  instance?: string;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
}

export class RunListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private delay: number;
  private readonly ready: Promise<void>;
  private markReady: () => void = () => undefined;

  private constructor(private readonly o: RunListenerOptions) {
    this.delay = o.reconnectMinMs ?? RECONNECT_MIN_MS;
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
  }

  /** Starts listening; connection failures are retried in the background with backoff. */
  static start(o: RunListenerOptions): RunListener {
    const listener = new RunListener(o);
    void listener.connect();
    return listener;
  }

  /** Resolves once the first LISTEN succeeded (for tests and a log line). */
  listening(): Promise<void> {
    return this.ready;
  }

  /** Whether a listening connection is open now. */
  get connected(): boolean {
    return this.client !== undefined;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const name = `postbote listen ${this.o.instance ?? ''}`.trim().slice(0, MAX_APP_NAME);
    const client = new pg.Client({ connectionString: this.o.url, application_name: name });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = undefined;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (this.stopped) return;
      this.o.logger.warn(
        { err: err ? scrub(err.message, this.o.url) : 'connection closed', retryInMs: this.delay },
        `lost the PostgreSQL LISTEN connection to ${maskUrl(this.o.url)}; reconnecting`,
      );
      this.schedule();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (msg) => {
      if (msg.channel !== RUN_CHANNEL) return;
      const mailbox = runPayload(msg.payload);
      if (mailbox === undefined) return;
      try {
        this.o.onRun(mailbox);
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, 'a run notification could not be handled');
      }
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${RUN_CHANNEL}`);
    } catch (err) {
      onLost(err as Error);
      return;
    }
    if (this.stopped || lost) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.delay = this.o.reconnectMinMs ?? RECONNECT_MIN_MS;
    this.markReady();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, this.o.reconnectMaxMs ?? RECONNECT_MAX_MS);
    this.timer = setTimeout(() => void this.connect(), wait);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}

/**
 * Whether a lease owner (`label#random`) is this instance: given as its own owner name, exactly (a
 * process of the same label that lingers, or was restarted, is another instance); given as a bare
 * label, any process of that label.
 */
export function isOwnLease(owner: string, instance: string): boolean {
  return instance.includes('#') ? owner === instance : owner.startsWith(`${instance}#`);
}

/**
 * What an admin action calls to start a mailbox's pass: this scheduler when this instance holds the
 * mailbox, else a notification for the instance that does (or, while the mailbox is free, for the
 * first instance to take it; every instance's listener, this one's included, hears it).
 */
export function wakeHolder(o: {
  db: Queryable;
  instance: string;
  requestRun: (mailbox: string) => void;
  holders: () => Promise<Map<string, { owner: string }>>;
}): (mailbox: string) => Promise<void> {
  return async (mailbox) => {
    const holder = (await o.holders()).get(mailbox);
    if (holder && isOwnLease(holder.owner, o.instance)) o.requestRun(mailbox);
    else await notifyRun(o.db, mailbox);
  };
}
