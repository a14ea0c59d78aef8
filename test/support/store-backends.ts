// Runs a store suite against every backend: a fresh SqliteStore in a temporary folder, and a fresh
// PostgresStore in its own database of a private cluster started once per test file (on first use)
// and stopped after the file's tests. Without root or PostgreSQL the postgres suites are skipped.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { PostgresStore } from '../../src/store/postgres.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { NewMessage, Store } from '../../src/store/types.js';
import { type PostgresCluster, postgresUnavailable, startPostgres } from './postgres.js';

/** One place a store lives: open() gives a new store on it (a reopen, or a second writer). */
export interface StoreLocation {
  open(): Store;
  /** The database URL (postgres) or the file (sqlite). */
  where: string;
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** Set when the backend cannot run here: the suite is skipped with this reason. */
  skip?: string;
  /** A fresh, empty location. */
  location(): Promise<StoreLocation>;
  /** A fresh location, opened and migrated. */
  fresh(): Promise<Store>;
}

let cluster: Promise<PostgresCluster> | undefined;
const dirs: string[] = [];

// Registered when a test file imports this module: after the file's tests, whatever used the cluster.
after(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  if (cluster) await (await cluster).stop();
});

/** The running cluster of this test file (started on first call, stopped after the file's tests). */
export function sharedCluster(): Promise<PostgresCluster> {
  cluster ??= startPostgres('store');
  return cluster;
}

export function backends(): Backend[] {
  const make = (name: Backend['name'], location: () => Promise<StoreLocation>, skip?: string): Backend => ({
    name,
    skip,
    location,
    async fresh() {
      const store = (await location()).open();
      await store.migrate();
      return store;
    },
  });
  return [
    make('sqlite', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'postbote-store-'));
      dirs.push(dir);
      const file = join(dir, 's.sqlite');
      return { where: file, open: () => new SqliteStore(file) };
    }),
    make(
      'postgres',
      async () => {
        const url = await (await sharedCluster()).createDatabase('store');
        return { where: url, open: () => new PostgresStore(url) };
      },
      postgresUnavailable(),
    ),
  ];
}

/** A record as a pass makes it after spooling one small message; `over` changes what a test watches. */
export function newMessage(uid: string, over: Partial<NewMessage> = {}): NewMessage {
  return {
    mailbox: 'info',
    uid,
    spoolKey: `k-${uid}`,
    size: 10,
    sha256: 'x',
    messageId: null,
    sender: 'a@b.c',
    subject: 's',
    recipients: [{ address: 'r@corp.local', status: 'pending', reason: 'fixed' }],
    fetchedAt: 1000,
    ...over,
  };
}
