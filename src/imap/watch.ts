// IDLE push (RFC 2177): one watching connection per folder, apart from the fetching session, that only
// reports "new mail here" (EXISTS). It examines the folder read-only and never fetches, flags or
// expunges, so the pass that fetches keeps all its guarantees. Without IDLE at the server it asks NOOP
// on a timer; a dropped connection is reopened with backoff.
import { setTimeout as delay } from 'node:timers/promises';
import { ImapFlow } from 'imapflow';
import { toPostboteError } from '../errors.js';
import { imapError } from './errors.js';
import { chooseFolders } from './folders.js';
import { flowOptions, type ImapOptions } from './options.js';

/** RFC 2177 lets a server drop an IDLE after 30 min of silence: re-IDLE before (the RFC says < 29). */
export const REIDLE_MS = 25 * 60_000;
/** Without IDLE a NOOP a minute: new mail within a minute, at a cost no server minds. */
export const NOOP_POLL_MS = 60_000;
/** First wait before reopening a dropped connection; doubled per failure in a row. */
export const RECONNECT_BASE_MS = 1_000;
/** However long the outage, a watcher tries again at least every 5 minutes. */
export const RECONNECT_MAX_MS = 5 * 60_000;
/** A connection that stayed up this long was healthy: the next failure starts the backoff afresh. */
const HEALTHY_AFTER_MS = 60_000;

export interface ImapWatchOptions extends ImapOptions {
  /** Called on EXISTS growth, and when a (re)opened watch finds mail waiting. */
  onNew: (folder: string) => void;
  /** A slot of scheduler.idleConnections for the host, held for the folder watcher's life. */
  acquire: () => Promise<() => void>;
  /** `auto` watches only a server that announces IDLE; `true` falls back to NOOP polling. */
  mode: 'auto' | 'always';
  /** The password for each (re)connect, when it changes (an OAuth2 access token); else `password`. */
  credentials?: () => Promise<string>;
  reidleMs?: number;
  noopMs?: number;
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
}

export interface ImapWatch {
  /** Folders watched (after LIST); resolves once the first connection chose them. */
  readonly folders: Promise<string[]>;
  stop(): Promise<void>;
}

/** Wait before reconnect attempt `failures` (1-based): base · 2^(n-1), at most max, jitter 0.5–1. */
export function reconnectDelay(failures: number, base: number, max: number, jitter = Math.random()): number {
  const raw = Math.min(max, base * 2 ** Math.max(0, failures - 1));
  return Math.round(raw * (0.5 + jitter / 2));
}

export function watchImap(o: ImapWatchOptions): ImapWatch {
  const stopping = new AbortController();
  const clients = new Set<ImapFlow>();
  const log = o.logger.child({ watch: true });
  const where = `imap ${o.host}:${o.port}`;
  const loops: Array<Promise<void>> = [];

  const open = async (): Promise<ImapFlow> => {
    const password = o.credentials ? await o.credentials() : o.password;
    const client = new ImapFlow({
      ...flowOptions({ ...o, password }),
      // imapflow breaks and restarts IDLE itself after this long (and polls NOOP as often, capped by it).
      maxIdleTime: o.reidleMs ?? REIDLE_MS,
    });
    client.on('error', (err: unknown) => log.debug({ err }, 'imap watch connection error'));
    clients.add(client);
    client.on('close', () => clients.delete(client));
    try {
      await client.connect();
    } catch (err) {
      client.close();
      throw imapError(err, where, 'connect (watch)');
    }
    return client;
  };

  /** Waits out the backoff after `failures` failures in a row (or until stop()). */
  const backoff = async (failures: number, folder?: string): Promise<void> => {
    const wait = reconnectDelay(
      failures,
      o.reconnectBaseMs ?? RECONNECT_BASE_MS,
      o.reconnectMaxMs ?? RECONNECT_MAX_MS,
    );
    log.info({ folder, wait, failures }, `imap watch: reconnecting in ${wait} ms`);
    await delay(wait, undefined, { signal: stopping.signal }).catch(() => undefined);
  };

  const report = (err: unknown, folder?: string) => {
    const e = toPostboteError(err);
    log.warn({ folder, err: e.toJSON() }, `imap watch${folder ? ` of ${folder}` : ''}: ${e.describe()}`);
  };

  /** Keeps one folder watched until stop(): examine, wait for EXISTS, reopen with backoff. */
  const folderLoop = async (folder: string, first?: { client: ImapFlow; release: () => void }) => {
    // Rejected when stop() comes while waiting for a slot of idleConnections.
    const release = first?.release ?? (await o.acquire().catch(() => undefined));
    if (!release) return;
    let client = first?.client;
    let failures = 0;
    try {
      while (!stopping.signal.aborted) {
        const since = Date.now();
        try {
          client ??= await open();
          if (stopping.signal.aborted) break;
          if (!(await watchFolder(client, folder))) return;
        } catch (err) {
          report(err, folder);
        } finally {
          client?.close();
          client = undefined;
        }
        if (stopping.signal.aborted) break;
        failures = Date.now() - since >= HEALTHY_AFTER_MS ? 1 : failures + 1;
        await backoff(failures, folder);
      }
    } finally {
      release();
    }
  };

  /** LIST on the first connection (held in a slot), which then watches the first folder. */
  const start = async (): Promise<string[]> => {
    for (let failures = 1; !stopping.signal.aborted; failures++) {
      const release = await o.acquire().catch(() => undefined);
      if (!release) break;
      let client: ImapFlow | undefined;
      try {
        if (stopping.signal.aborted) {
          release();
          break;
        }
        client = await open();
        if (o.mode === 'auto' && !client.capabilities.has('IDLE')) {
          log.info('the server announces no IDLE: polled on the interval (set idle: true for NOOP)');
          client.close();
          release();
          return [];
        }
        const all = await client.list();
        const moveTo = typeof o.afterDelivery === 'object' ? [o.afterDelivery.moveTo] : [];
        const chosen = chooseFolders(all, o.folders, o.exclude, moveTo).folders;
        if (stopping.signal.aborted || chosen.length === 0) {
          client.close();
          release();
          return [];
        }
        const held = { client, release };
        client = undefined;
        loops.push(...chosen.map((f, i) => folderLoop(f, i === 0 ? held : undefined)));
        return chosen;
      } catch (err) {
        report(err);
        client?.close();
        release();
      }
      await backoff(failures);
    }
    return [];
  };

  /** Returns false when the server has no IDLE and `auto` leaves the folder to the interval poll. */
  const watchFolder = async (client: ImapFlow, folder: string): Promise<boolean> => {
    const idle = client.capabilities.has('IDLE');
    if (!idle && o.mode === 'auto') {
      log.info({ folder }, 'the server announces no IDLE: polled on the interval (set idle: true for NOOP)');
      return false;
    }
    const box = await client.mailboxOpen(folder, { readOnly: true });
    client.on('exists', (e: { path: string; count: number; prevCount: number }) => {
      if (e.count > e.prevCount) o.onNew(folder);
    });
    // Mail that arrived while this watch was not up (start, reconnect) gets its pass now.
    if (box.exists > 0) o.onNew(folder);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    while (!stopping.signal.aborted && client.usable && client.mailbox !== false) {
      if (idle) {
        // Returns when IDLE is broken (imapflow's liveness NOOP) or the connection is gone.
        await client.idle();
      } else {
        await client.noop();
        await Promise.race([
          delay(o.noopMs ?? NOOP_POLL_MS, undefined, { signal: stopping.signal }).catch(() => undefined),
          closed,
        ]);
      }
    }
    if (stopping.signal.aborted) return false;
    throw imapError(new Error('the watching connection closed'), where, idle ? 'IDLE' : 'NOOP');
  };

  const started = start();

  return {
    folders: started,
    async stop() {
      stopping.abort();
      for (const c of clients) c.close();
      await started.catch(() => undefined);
      for (const c of clients) c.close();
      await Promise.all(loops);
    },
  };
}
