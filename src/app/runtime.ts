// Builds the running parts from a validated configuration: store, spool, target pool, and a plan per
// mailbox. Shared by `run`, `fetch`, `check` and `demo`, so each command wires nothing by hand.
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Config, MailboxConfig } from '../config/index.js';
import type { MailboxPlan } from '../connector/mailbox-pass.js';
import type { DeliveryContext } from '../delivery/attempt.js';
import { Target } from '../delivery/target.js';
import { PostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import { openPop3 } from '../pop3/client.js';
import { connectSmtp } from '../smtp/client.js';
import type { SmtpClientOptions } from '../smtp/types.js';
import type { SourceSession } from '../source/types.js';
import { Spool } from '../spool/spool.js';
import { SqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/types.js';

export interface Runtime {
  config: Config;
  store: Store;
  spool: Spool;
  target: Target;
  ctx: DeliveryContext;
  plans: Array<MailboxPlan & { interval: number }>;
  close(): Promise<void>;
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

/** `pipelining: false` reads the mailbox one command at a time (after a POP3_DESYNC). */
export function openSource(
  mailbox: MailboxConfig,
  logger: Logger,
  session: { pipelining?: boolean } = {},
): Promise<SourceSession> {
  if (mailbox.protocol !== 'pop3') {
    throw new PostboteError(
      'CONFIG_INVALID',
      `mailbox ${mailbox.name}: protocol ${mailbox.protocol} is not supported yet`,
      {
        temporary: false,
        hint: 'use protocol: pop3',
      },
    );
  }
  return openPop3({
    host: mailbox.host,
    port: mailbox.port,
    tls: mailbox.tls,
    tlsVerify: mailbox.tlsVerify,
    ca: mailbox.caPem,
    servername: mailbox.servername,
    user: mailbox.user,
    password: mailbox.password,
    auth: mailbox.auth,
    timeouts: mailbox.timeouts,
    maxMessageSize: mailbox.maxMessageSize,
    logger: logger.child({ component: 'pop3', mailbox: mailbox.name }),
    ...(session.pipelining === false ? { pipelining: false } : {}),
  });
}

export function mailboxPlan(
  config: Config,
  mailbox: MailboxConfig,
  logger: Logger,
): MailboxPlan & { interval: number } {
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
    protocol: mailbox.protocol,
    host: mailbox.host,
    secure: mailbox.tls !== 'none',
    interval: mailbox.interval ?? config.scheduler.interval,
    open: (session?: { pipelining?: boolean }) => openSource(mailbox, logger, session),
  };
}

export async function createRuntime(config: Config, logger: Logger): Promise<Runtime> {
  if (config.state.startsWith('postgres://') || config.state.startsWith('postgresql://')) {
    throw new PostboteError('CONFIG_INVALID', 'a PostgreSQL state is not supported yet', {
      temporary: false,
      hint: 'set state: to a folder',
    });
  }
  const stateDir = resolve(config.state);
  const store = new SqliteStore(join(stateDir, 'postbote.sqlite'));
  await store.migrate();
  const spool = new Spool(join(stateDir, 'spool'));
  const swept = await spool.sweep(await store.spoolKeys());
  if (swept > 0) logger.info({ swept }, 'removed spool files left over by an interrupted run');
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
    async close() {
      await target.close();
      await store.close();
    },
  };
}
