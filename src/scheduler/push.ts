// Push-triggered passes: each mailbox with a push source (IMAP IDLE) has a watcher that reports new
// mail, and the scheduler runs that mailbox's pass at once. A watcher only says "look now": it never
// holds the state lock or the mailbox's fetch slot, and its connections are counted against
// scheduler.idleConnections per host, apart from the fetching sessions' perHostConnections.
import { PostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import { KeyedSemaphore, type Semaphore } from '../util/semaphore.js';

/**
 * Default watching connections per provider host. With the default 2 fetching connections a host
 * sees at most 6 from Postbote: under Dovecot's default mail_max_userip_connections (10 per user and
 * IP) and Gmail's 15 per account, leaving room for the user's own mail client.
 */
export const DEFAULT_IDLE_CONNECTIONS = 4;
/** stop() gives the watchers this long to close (they only drop sockets: nothing to commit). */
const WATCH_STOP_MS = 5_000;

export interface PushStart {
  /** New mail in the mailbox (the folder, for the log). */
  onNew: (folder: string) => void;
  /** One watching connection's slot of the host's idleConnections; rejects once the watcher stops. */
  acquire: () => Promise<() => void>;
}

export interface PushSource {
  /** What the watcher depends on (server, login, folders): a reload that changes it restarts the watcher. */
  key: string;
  host: string;
  start(o: PushStart): { stop(): Promise<void> };
}

interface Running {
  key: string;
  abort: AbortController;
  watch: { stop(): Promise<void> };
}

export class PushWatchers {
  private readonly running = new Map<string, Running>();
  private readonly perHost: KeyedSemaphore;

  constructor(
    idleConnections: number,
    private readonly onNew: (mailbox: string, folder: string) => void,
    private readonly logger: Logger,
  ) {
    this.perHost = new KeyedSemaphore(idleConnections);
  }

  /** Starts the watchers of new or changed mailboxes, stops those of removed or changed ones. */
  sync(plans: Array<{ name: string; push?: PushSource }>): void {
    const next = new Map(plans.flatMap((p) => (p.push ? [[p.name, p.push] as const] : [])));
    for (const [name, r] of this.running) {
      if (next.get(name)?.key === r.key) continue;
      this.stopOne(name, r);
    }
    for (const [name, push] of next) {
      if (this.running.has(name)) continue;
      const abort = new AbortController();
      const slots = this.perHost.for(push.host);
      const watch = push.start({
        onNew: (folder) => {
          if (!abort.signal.aborted) this.onNew(name, folder);
        },
        acquire: () => acquireUnless(slots, abort.signal),
      });
      this.running.set(name, { key: push.key, abort, watch });
      this.logger.debug({ mailbox: name }, 'push watcher started');
    }
  }

  /** Closes every watcher; resolves once they closed or WATCH_STOP_MS passed. */
  async stopAll(): Promise<void> {
    const all = [...this.running].map(([name, r]) => this.stopOne(name, r));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(all),
      new Promise((resolve) => {
        timer = setTimeout(resolve, WATCH_STOP_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  private stopOne(name: string, r: Running): Promise<void> {
    this.running.delete(name);
    r.abort.abort();
    return r.watch.stop().catch((err: unknown) => {
      this.logger.debug({ err, mailbox: name }, 'push watcher stop failed');
    });
  }
}

/** The semaphore's next slot, unless the signal fires first (then a late grant is handed back). */
export function acquireUnless(slots: Semaphore, signal: AbortSignal): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const pending = slots.acquire();
    const onAbort = () => {
      reject(new PostboteError('CANCELLED', 'the watcher stopped', { temporary: true }));
      pending.then((release) => release());
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    pending.then((release) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) release();
      else resolve(release);
    });
  });
}
