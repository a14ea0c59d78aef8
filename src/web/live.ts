// Server-sent events for the pages: every pass event, finished pass and mailbox state change is
// announced, and the page fetches what changed. Connections are bounded, so is what waits for a client
// that stopped reading, and all are closed on shutdown.
import type { ServerResponse } from 'node:http';

/** Browsers reconnect by themselves; a comment line this often keeps proxies from closing the stream. */
const HEARTBEAT_MS = 25_000;
/** One admin has a few tabs; this bounds what a runaway client can hold open. */
const MAX_CLIENTS = 100;
/**
 * Bytes waiting for one client that stopped reading (a suspended laptop, a hostile script). The page
 * only needs to hear that something changed; a client this far behind is dropped, and EventSource
 * reconnects and reloads once it reads again. 100 clients at this bound hold 25 MB at most.
 */
export const MAX_BUFFERED_BYTES = 256 * 1024;

export interface LiveEvent {
  type: 'pass' | 'message' | 'state' | 'listed' | 'action';
  mailbox?: string;
  [key: string]: unknown;
}

export class LiveHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.write(': keep-alive\n\n'), HEARTBEAT_MS);
    this.timer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over a response for the event stream; false when too many are open. */
  attach(res: ServerResponse): boolean {
    if (this.clients.size >= MAX_CLIENTS) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      connection: 'keep-alive',
    });
    res.write('retry: 3000\n\n');
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    return true;
  }

  publish(event: LiveEvent): void {
    this.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  }

  private write(chunk: string): void {
    for (const res of this.clients) {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }

  close(): void {
    clearInterval(this.timer);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
