// For the scheduler's tests: a delivery context on a fresh store and spool in a temporary folder, with
// a target that must never be reached (these tests deliver nothing). Folders are removed after the file.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after } from 'node:test';
import type { MailboxPlan } from '../connector/plan.js';
import type { DeliveryContext } from '../delivery/attempt.js';
import { Target } from '../delivery/target.js';
import { silentLogger } from '../log.js';
import type { SourceSession } from '../source/types.js';
import { Spool } from '../spool/spool.js';
import { SqliteStore } from '../store/sqlite.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

export async function schedulerContext(): Promise<DeliveryContext> {
  const dir = await mkdtemp(join(tmpdir(), 'postbote-sched-'));
  dirs.push(dir);
  const store = new SqliteStore(join(dir, 's.sqlite'));
  await store.migrate();
  const target = new Target(
    { host: '127.0.0.1', port: 1, tls: 'none', helo: 'h', maxConnections: 1 },
    () => Promise.reject(new Error('no delivery expected')),
    silentLogger(),
  );
  return {
    target,
    spool: new Spool(join(dir, 'spool')),
    store,
    logger: silentLogger(),
    retry: { initial: 1000, max: 2000, expireAfter: 86_400_000 },
    hostname: 'h',
    now: Date.now,
  };
}

/** A provider session on an empty mailbox (POP3, no pipelining); `over` replaces what a test watches. */
export function emptySession(server: string, over: Partial<SourceSession> = {}): SourceSession {
  return {
    protocol: 'pop3',
    server,
    secure: false,
    pipelining: false,
    list: async () => ({ messages: [], refused: [] }),
    retrieve: () => Readable.from([]),
    retrieveMany: (messages) => messages.map(() => Readable.from([])),
    top: async () => Buffer.alloc(0),
    delete: async () => [],
    close: async () => undefined,
    abort: () => undefined,
    ...over,
  };
}

/** A plain POP3 mailbox delivering to one fixed address; its `open` is the test's. */
export function plainPlan(name: string, host: string, open: MailboxPlan['open']): MailboxPlan {
  return {
    name,
    user: `${name}@example.com`,
    keep: false,
    maxMessageSize: 1e6,
    maxReceivedHeaders: 30,
    envelopeSender: 'return-path',
    route: { deliverTo: ['a@corp.local'] },
    protocol: 'pop3',
    host,
    secure: false,
    open,
  };
}
