// The web admin as the commands start it: from `web:` in the configuration and the running parts.
import type { Runtime } from '../app/runtime.js';
import type { Config, WebConfig } from '../config/index.js';
import { instanceLabel } from '../config/instance.js';
import type { Logger } from '../log.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { WebUser } from './auth.js';
import { startWebServer, type WebServer } from './server.js';

export { buildWebServer, startWebServer, type WebDeps, type WebServer } from './server.js';

/** `config` gives the configuration in force (a reload swaps it); `web` is read once, at the start. */
export async function startWeb(
  config: () => Config,
  runtime: Pick<Runtime, 'store' | 'spool' | 'target' | 'instance'>,
  scheduler: Scheduler,
  logger: Logger,
  o: { web?: WebConfig; extraUsers?: WebUser[] } = {},
): Promise<WebServer | undefined> {
  const web = o.web ?? config().web;
  if (!web) return undefined;
  // The lease owner (label#random) of a `run` that joined the instances, else the configured label.
  const instance = runtime.instance ?? instanceLabel(config());
  const server = await startWebServer({
    instance,
    ...(config().stateKind === 'postgres' ? await sharedWebDeps(runtime.store, scheduler, instance) : {}),
    config,
    web,
    store: runtime.store,
    spool: runtime.spool,
    target: runtime.target,
    scheduler,
    logger,
    extraUsers: o.extraUsers,
  });
  if (web.users.length === 0 && !o.extraUsers?.length) {
    logger.warn({ url: server.url }, 'web admin has no users: add web.users (postbote hash-password)');
  }
  logger.info({ url: server.url }, `web admin on ${server.url}`);
  return server;
}

/**
 * A PostgreSQL state that several instances share: sessions and the login lockout in the database, the
 * lease holders shown, and actions that wake the instance holding the mailbox (postgres-notify.ts).
 */
export async function sharedWebDeps(
  store: Runtime['store'],
  scheduler: Scheduler,
  instance: string,
): Promise<Pick<import('./server.js').WebDeps, 'sharedDb' | 'holders' | 'wake'>> {
  const [{ PostgresStore }, { leaseHolders }, { wakeHolder }] = await Promise.all([
    import('../store/postgres.js'),
    import('../store/postgres-web.js'),
    import('../store/postgres-notify.js'),
  ]);
  if (!(store instanceof PostgresStore)) return {};
  const db = store.pool;
  const holders = () => leaseHolders(db);
  return {
    sharedDb: db,
    holders,
    wake: wakeHolder({ db, instance, holders, requestRun: (name) => scheduler.requestRun(name) }),
  };
}
