// Builds the running parts from a validated configuration: store, spool, target pool, and a plan per
// mailbox. Shared by `run`, `fetch`, `check` and `demo`, so each command wires nothing by hand.
// The state's lock comes first and goes last: nothing touches the store or the spool without it.
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Config, MailboxConfig } from '../config/index.js';
import { instanceLabel } from '../config/instance.js';
import type { FiltersConfig } from '../config/types.js';
import type { DeliveryContext } from '../delivery/attempt.js';
import { Target } from '../delivery/target.js';
import { PostboteError } from '../errors.js';
import type { FilterSet } from '../filters/scan.js';
import { DEFAULT_EXCLUDE } from '../imap/folders.js';
import type { ImapOptions } from '../imap/index.js';
import type { Logger } from '../log.js';
import { openPop3 } from '../pop3/client.js';
import { type LeaseProvider, localLeases } from '../scheduler/leases.js';
import type { PushSource } from '../scheduler/push.js';
import type { ScheduledPlan } from '../scheduler/scheduler.js';
import { connectSmtp } from '../smtp/client.js';
import type { SmtpClientOptions } from '../smtp/types.js';
import type { SourceSession } from '../source/types.js';
import { Spool } from '../spool/spool.js';
import type { PgSharedBytes } from '../store/postgres-blobs.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';
import { StateLock } from './state-lock.js';

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

/** The IMAP client's options from a mailbox (the password is replaced by a token for auth: oauth2). */
function imapOptions(mailbox: MailboxConfig, logger: Logger): ImapOptions {
  return {
    host: mailbox.host,
    port: mailbox.port,
    tls: mailbox.tls,
    tlsVerify: mailbox.tlsVerify,
    ca: mailbox.caPem,
    servername: mailbox.servername,
    user: mailbox.user,
    password: mailbox.password,
    auth: mailbox.auth,
    folders: mailbox.folders ?? ['INBOX'],
    exclude: mailbox.exclude ?? [...DEFAULT_EXCLUDE],
    afterDelivery: mailbox.afterDelivery ?? 'delete',
    timeouts: mailbox.timeouts,
    logger: logger.child({ component: 'imap', mailbox: mailbox.name }),
  };
}

/** IMAP IDLE push for the scheduler (src/imap/watch.ts), unless `idle: false`. */
function pushSource(mailbox: MailboxConfig, logger: Logger): PushSource | undefined {
  if (mailbox.protocol !== 'imap' || mailbox.idle === false) return undefined;
  const o = imapOptions(mailbox, logger);
  const { logger: _, ...watched } = o;
  return {
    key: JSON.stringify({ ...watched, idle: mailbox.idle }),
    host: mailbox.host,
    start: (s) => {
      // imapflow is loaded only for IMAP mailboxes; an OAuth2 mailbox logs in with a fresh token each time.
      const watching = import('../imap/watch.js').then(({ watchImap }) =>
        watchImap({
          ...o,
          ...s,
          mode: mailbox.idle ? 'always' : 'auto',
          ...(mailbox.auth === 'oauth2'
            ? { credentials: async () => (await oauth()).accessTokensFor(mailbox).get() }
            : {}),
        }),
      );
      watching.catch((err: Error) =>
        logger.error({ err: err.message }, `mailbox ${mailbox.name}: the IMAP watch could not start`),
      );
      return { stop: async () => (await watching.catch(() => undefined))?.stop() };
    },
  };
}

/**
 * `pipelining: false` reads the mailbox one command at a time (after a POP3_DESYNC). With auth: oauth2
 * the password is an access token from src/oauth/ (refreshed when due; a revoked consent is OAUTH_REVOKED).
 * The IMAP client (imapflow and its MIME libraries, ~20 MB) is loaded only when a mailbox uses IMAP.
 */
export async function openSource(
  mailbox: MailboxConfig,
  logger: Logger,
  session: { pipelining?: boolean; maxMessageSize?: number } = {},
): Promise<SourceSession> {
  if (mailbox.auth !== 'oauth2') return openWith(mailbox, mailbox.password, logger, session);
  const { accessTokensFor, oauthLoginRefused } = await oauth();
  const token = await accessTokensFor(mailbox).get();
  try {
    return await openWith(mailbox, token, logger, session);
  } catch (err) {
    throw oauthLoginRefused(err, mailbox);
  }
}

/** OAuth2 (token store, endpoints, providers) loads for the first auth: oauth2 mailbox only. */
function oauth(): Promise<typeof import('../oauth/index.js')> {
  return import('../oauth/index.js');
}

async function openWith(
  mailbox: MailboxConfig,
  password: string,
  logger: Logger,
  session: { pipelining?: boolean; maxMessageSize?: number },
): Promise<SourceSession> {
  if (mailbox.protocol === 'imap') {
    const { openImap } = await import('../imap/index.js');
    // IMAP has no pipelined RETR to turn off: `session` does not apply.
    return openImap({ ...imapOptions(mailbox, logger), password });
  }
  return openPop3({
    host: mailbox.host,
    port: mailbox.port,
    tls: mailbox.tls,
    tlsVerify: mailbox.tlsVerify,
    ca: mailbox.caPem,
    servername: mailbox.servername,
    user: mailbox.user,
    password,
    auth: mailbox.auth === 'oauth2' ? 'xoauth2' : mailbox.auth,
    timeouts: mailbox.timeouts,
    // A session may only raise the limit (to fetch released messages), never lower it.
    maxMessageSize:
      session.maxMessageSize === undefined
        ? mailbox.maxMessageSize
        : Math.max(session.maxMessageSize, mailbox.maxMessageSize ?? Number.POSITIVE_INFINITY),
    logger: logger.child({ component: 'pop3', mailbox: mailbox.name }),
    // Every caller (pass, check, route) lists first: the listing goes with the CAPA after login.
    listOnLogin: true,
    ...(session.pipelining === false ? { pipelining: false } : {}),
  });
}

let scanners: typeof import('../filters/scan.js') | undefined;

/**
 * Loads the scanner clients (rspamd, spamd, clamd, node:http): about 20 ms of start-up CPU that a
 * configuration without a filters section does not spend. createRuntime calls it for a configuration
 * that has one; `run` always (a reload may add one); mailboxPlan needs it before a filtered mailbox.
 */
export async function loadFilters(): Promise<void> {
  scanners ??= await import('../filters/scan.js');
}

export function hasFilters(config: Config): boolean {
  return config.filters !== undefined || config.mailboxes.some((m) => m.filters !== undefined);
}

/** One FilterSet per filters section: mailboxes sharing the global one share its concurrency caps. */
const filterSets = new WeakMap<FiltersConfig, FilterSet>();
function filtersFor(config: FiltersConfig | undefined): FilterSet | undefined {
  if (!config) return undefined;
  if (!scanners) throw new Error('a filters section before loadFilters()');
  let set = filterSets.get(config);
  if (!set) {
    set = scanners.filterSet(config);
    filterSets.set(config, set);
  }
  return set;
}

export function mailboxPlan(config: Config, mailbox: MailboxConfig, logger: Logger): ScheduledPlan {
  return {
    name: mailbox.name,
    user: mailbox.user,
    keep: mailbox.keep,
    deleteAfterDays: mailbox.deleteAfterDays,
    maxMessageSize: mailbox.maxMessageSize ?? config.delivery.maxMessageSize,
    maxReceivedHeaders: config.delivery.maxReceivedHeaders,
    envelopeSender: mailbox.envelopeSender ?? config.delivery.envelopeSender,
    route: { deliverTo: mailbox.deliverTo, catchAll: mailbox.catchAll, rules: mailbox.rules },
    fallback: mailbox.fallback,
    postmaster: config.delivery.postmaster,
    filters: filtersFor(mailbox.filters ?? config.filters),
    protocol: mailbox.protocol,
    host: mailbox.host,
    secure: mailbox.tls !== 'none',
    interval: mailbox.interval ?? config.scheduler.interval,
    open: (session?: { pipelining?: boolean; maxMessageSize?: number }) =>
      openSource(mailbox, logger, session),
    push: pushSource(mailbox, logger),
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
