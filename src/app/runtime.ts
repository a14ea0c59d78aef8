// Builds the running parts from a validated configuration: store, spool, target pool, and a plan per
// mailbox. Shared by `run`, `fetch`, `check` and `demo`, so each command wires nothing by hand.
// The state's lock comes first and goes last: nothing touches the store or the spool without it.
// A mailbox's plan is mailbox-plan.ts, the session it opens at its provider mailbox-source.ts.
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Config } from '../config/index.js';
import { instanceLabel } from '../config/instance.js';
import type { DeliveryContext } from '../delivery/attempt.js';
import { Target } from '../delivery/target.js';
import { PostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import { type LeaseProvider, localLeases } from '../scheduler/leases.js';
import type { ScheduledPlan } from '../scheduler/scheduler.js';
import { connectSmtp } from '../smtp/client.js';
import type { SmtpClientOptions } from '../smtp/types.js';
import { Spool } from '../spool/spool.js';
import type { PgSharedBytes } from '../store/postgres-blobs.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { hasFilters, loadFilters, mailboxPlan } from './mailbox-plan.js';
import { StateLock } from './state-lock.js';

export { hasFilters, loadFilters, mailboxPlan } from './mailbox-plan.js';
export { openSource } from './mailbox-source.js';

export interface Runtime {
  config: Config;
  store: Store;
  spool: Spool;
  target: Target;
  ctx: DeliveryContext;
  plans: ScheduledPlan[];
  /** Held from creation until close(): this process alone works on the state (its spool folder). */
  lock: StateLock;
  /**
   * Which mailboxes this process may work on: with a postgres:// state, those whose lease it holds
   * (several instances share the database); with a folder state, all of them.
   */
  leases: LeaseProvider;
  /** With a postgres:// state: this process's name as lease owner and in the instances table. */
  instance?: string;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Who takes the state's lock, for the message a second process gets: 'postbote fetch'. */
  command?: string;
  /** How long to wait for another process to release the state; 0 (the default) refuses at once. */
  waitMs?: number;
  /** Called once if the state is in use and this process starts waiting, with the holder's name. */
  onWait?: (holder: string) => void;
  /** A lock the caller took already (the demo, before it clears its folder); close() releases it. */
  lock?: StateLock;
  /**
   * postgres:// state: join the instances that share the mailboxes (`run`): registered with a heartbeat,
   * it takes the mailboxes it ranks first for. Otherwise (`fetch`) it takes free ones for a pass only.
   */
  joins?: boolean;
}

export function targetOptions(
  config: Config,
  logger: Logger,
): SmtpClientOptions & { maxConnections: number } {
  const t = config.target;
  return {
    host: t.host,
    port: t.port,
    lmtp: t.protocol === 'lmtp',
    tls: t.tls,
    tlsVerify: t.tlsVerify,
    ca: t.caPem,
    servername: t.servername,
    localAddress: t.localAddress,
    helo: t.helo ?? hostname(),
    auth: t.auth && { user: t.auth.user, pass: t.auth.password },
    timeouts: t.timeouts,
    maxConnections: t.maxConnections,
    logger: logger.child({ component: 'smtp' }),
  };
}

export async function createRuntime(
  config: Config,
  logger: Logger,
  o: RuntimeOptions = {},
): Promise<Runtime> {
  const postgres = config.stateKind === 'postgres';
  if (postgres && !config.spool) {
    o.lock?.release();
    throw new PostboteError('CONFIG_INVALID', 'a postgres:// state needs spool: a local folder', {
      temporary: false,
      hint: 'add e.g. spool: /var/lib/postbote/spool',
    });
  }
  // The local lock guards the folder with the bytes: the state folder, or spool: beside a database.
  const lockDir = postgres ? resolve(config.spool!) : resolve(config.state);
  let lock = o.lock;
  if (lock) lock.assertHolds(lockDir);
  else {
    mkdirSync(lockDir, { recursive: true });
    lock = await StateLock.acquire(lockDir, {
      command: o.command ?? 'postbote',
      waitMs: o.waitMs ?? 0,
      onWait: o.onWait,
    });
  }
  let store: Store | undefined;
  let leases: LeaseProvider = localLeases;
  let instance: string | undefined;
  let shared: PgSharedBytes | undefined;
  try {
    if (postgres) {
      // Loaded only for a PostgreSQL state: the pg driver is not needed by a folder state.
      const [{ PostgresStore }, { ClusterLeases }, { maskUrl }] = await Promise.all([
        import('../store/postgres.js'),
        import('../scheduler/cluster-leases.js'),
        import('../store/postgres-url.js'),
      ]);
      const pg = new PostgresStore(config.state);
      store = pg;
      // Migrations first (under their own advisory lock): the instances table may not exist yet.
      await pg.migrate();
      const label = instanceLabel(config);
      const cluster = await ClusterLeases.start({
        url: config.state,
        store: pg,
        label,
        ttlMs: config.scheduler.leaseTtl,
        joins: o.joins === true,
        logger,
      });
      leases = cluster;
      instance = cluster.owner;
      logger.info(
        { state: maskUrl(config.state), spool: config.spool, instance, instances: cluster.liveInstances },
        o.joins
          ? `PostgreSQL state: instance ${instance} shares the mailboxes with the live instances by leases`
          : `PostgreSQL state: ${instance} takes a lease on each mailbox it fetches`,
      );
    } else {
      store = new SqliteStore(join(lockDir, 'postbote.sqlite'));
      await store.migrate();
    }
    // A PostgreSQL state: what outlives a pass is copied into the database, readable by every instance.
    shared = postgres
      ? new (await import('../store/postgres-blobs.js')).PgSharedBytes(config.state)
      : undefined;
    const spool = new Spool(join(lockDir, 'spool'), shared);
    // Under the lock: no other process can have written a file it has not recorded yet.
    const swept = await spool.sweep(await store.spoolKeys(), lock);
    if (swept > 0) logger.info({ swept }, 'removed spool files left over by an interrupted run');
    const orphans = (await shared?.sweepOrphans()) ?? 0;
    if (orphans > 0) logger.info({ orphans }, 'removed shared message bytes no record names');
    const copied = (await shared?.shareLocal(spool)) ?? 0;
    if (copied > 0) logger.info({ copied }, 'copied waiting and quarantined messages into the shared store');
    if (hasFilters(config)) await loadFilters();
    // Several instances write to one log collector: each line of this one's passes names it.
    const log = instance ? logger.child({ instance }) : logger;
    return wire(config, log, store, spool, lock, leases, instance);
  } catch (err) {
    await shared?.close().catch(() => undefined);
    await leases.close().catch(() => undefined);
    await store?.close().catch(() => undefined);
    lock.release();
    throw err;
  }
}

function wire(
  config: Config,
  logger: Logger,
  store: Store,
  spool: Spool,
  lock: StateLock,
  leases: LeaseProvider,
  instance?: string,
): Runtime {
  const opts = targetOptions(config, logger);
  const target = new Target(opts, connectSmtp, logger.child({ component: 'target' }));
  const ctx: DeliveryContext = {
    target,
    spool,
    store,
    logger,
    retry: config.delivery.retry,
    hostname: opts.helo,
    now: Date.now,
  };
  const plans = config.mailboxes.filter((m) => m.enabled).map((m) => mailboxPlan(config, m, logger));
  return {
    config,
    store,
    spool,
    target,
    ctx,
    plans,
    lock,
    leases,
    ...(instance ? { instance } : {}),
    async close() {
      try {
        await target.close();
        // Before the store closes: the leases go back at once, the others need not wait for the lapse.
        await leases.close().catch(() => undefined);
        await spool.shared?.close();
        await store.close();
      } finally {
        lock.release(); // last: no write of this process may follow another's start
      }
    },
  };
}
