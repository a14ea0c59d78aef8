// One Postbote instance per PostgreSQL state until the scheduler takes leases per mailbox: the
// equivalent of the folder state's lock (src/app/state-lock.ts) is a session-level advisory lock,
// pg_try_advisory_lock on a key derived from the database, held by a connection of its own. The
// server drops it when that connection ends in any way (kill -9, network loss), so no stale lock
// survives. Its holder is named by the connection's application_name, which a refused process reads.
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { PostboteError } from '../errors.js';
import { lockKeyOf, maskUrl, scrub } from './postgres-url.js';

// A try is one round trip; 4 a second take the lock soon after it is free without loading the server.
const LOCK_POLL_MS = 250;
// PostgreSQL cuts application_name at 63 bytes (NAMEDATALEN - 1).
const MAX_APP_NAME = 63;

export interface InstanceLockOptions {
  /** 'postbote run' */
  command: string;
  waitMs: number;
  onWait?: (holder: string) => void;
  /** Called once if the lock's connection is lost: another instance may now start. */
  onLost?: (err: Error) => void;
}

export class PgInstanceLock {
  private client: pg.Client | undefined;
  private lostError: Error | undefined;

  private constructor(
    client: pg.Client,
    private readonly url: string,
  ) {
    this.client = client;
  }

  static async acquire(url: string, o: InstanceLockOptions): Promise<PgInstanceLock> {
    const database = decodeURIComponent(new URL(url).pathname.slice(1));
    const key = lockKeyOf(database).toString();
    const name = `${o.command} pid ${process.pid} on ${hostname()}`.slice(0, MAX_APP_NAME);
    const client = new pg.Client({ connectionString: url, application_name: name });
    try {
      await client.connect();
    } catch (err) {
      throw new PostboteError('STORE', `PostgreSQL ${maskUrl(url)}: ${scrub((err as Error).message, url)}`, {
        temporary: true,
        hint: 'check that the database server is up and reachable, and the user and password',
      });
    }
    const deadline = Date.now() + o.waitMs;
    let told = false;
    try {
      for (;;) {
        const { rows } = await client.query('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key]);
        if (rows[0]?.ok === true) {
          const lock = new PgInstanceLock(client, url);
          client.on('error', (err) => lock.lose(err, o.onLost));
          client.on('end', () => lock.lose(new Error('connection closed'), o.onLost));
          return lock;
        }
        const holder = await holderOf(client, key);
        if (Date.now() >= deadline) {
          throw new PostboteError('STATE_IN_USE', `state ${maskUrl(url)} is in use by ${holder}`, {
            temporary: true,
            hint:
              'one Postbote instance per PostgreSQL state until mailboxes are shared by leases: ' +
              'stop the other instance, or give this one its own database',
          });
        }
        if (!told) {
          told = true;
          o.onWait?.(holder);
        }
        await sleep(Math.min(LOCK_POLL_MS, Math.max(0, deadline - Date.now())));
      }
    } catch (err) {
      await client.end().catch(() => undefined);
      if (err instanceof PostboteError) throw err;
      throw new PostboteError('STORE', `PostgreSQL ${maskUrl(url)}: ${scrub((err as Error).message, url)}`, {
        temporary: true,
      });
    }
  }

  private lose(err: Error, onLost?: (err: Error) => void): void {
    if (!this.client || this.lostError) return;
    this.lostError = err;
    onLost?.(err);
  }

  /** Whether this process still holds the lock (its connection is alive and not released). */
  get held(): boolean {
    return this.client !== undefined && this.lostError === undefined;
  }

  /** Throws STATE_IN_USE if the lock was released or its connection lost. */
  assertHolds(): void {
    if (!this.held) {
      throw new PostboteError('STATE_IN_USE', `the instance lock on ${maskUrl(this.url)} is no longer held`, {
        temporary: true,
        cause: this.lostError,
      });
    }
  }

  /** Ends the lock's connection: the server releases the lock with it. */
  async release(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    await client.end().catch(() => undefined);
  }
}

/** The holder as its connection named itself: 'postbote run pid 1234 on host, since 2026-…'. */
async function holderOf(client: pg.Client, key: string): Promise<string> {
  const k = BigInt(key);
  const classid = Number((k >> 32n) & 0xffffffffn);
  const objid = Number(k & 0xffffffffn);
  const { rows } = await client.query(
    `SELECT a.application_name AS name, a.backend_start AS since FROM pg_locks l
       JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = $1 AND l.objid::bigint = $2
       AND l.objsubid = 1 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
    [classid, objid],
  );
  const row = rows[0] as { name: string; since: Date } | undefined;
  if (!row) return 'another Postbote instance';
  return `${row.name || 'another client'}, connected ${row.since.toISOString().slice(0, 19).replace('T', ' ')}`;
}
