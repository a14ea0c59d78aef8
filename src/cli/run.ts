// `postbote run`: the service. Polls every mailbox on its interval; SIGTERM or SIGINT lets each
// session finish the message in hand, commit and close (within scheduler.shutdownGrace), then exits.
// SIGHUP (systemctl reload) rereads the configuration and reopens log.file.
import { createRuntime, loadFilters, mailboxPlan, type Runtime } from '../app/runtime.js';
import { formatIssue } from '../config/config-error.js';
import { type Config, ConfigError, loadConfig } from '../config/index.js';
import { startControl } from '../control/service.js';
import { toPostboteError } from '../errors.js';
import { type Logger, reopenLog } from '../log.js';
import { passLine } from '../scheduler/log-lines.js';
import { compareConfigs } from '../scheduler/reload.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { sayWaiting, setup, waitMs } from './setup.js';

export async function runCommand(o: { config: string; wait?: string }): Promise<void> {
  const { config, logger } = setup(o.config);
  // A reload may add a filters section: its plans are made synchronously, so the scanners load now.
  await loadFilters();
  // The service refuses at once when the state is in use (unless --wait): a second service beside
  // the first is a mistake to report, not to queue.
  const runtime = await createRuntime(config, logger, {
    command: 'postbote run',
    waitMs: waitMs(o.wait),
    onWait: sayWaiting(logger, false, o.wait),
    // postgres:// state: one of the instances sharing the mailboxes by leases.
    joins: true,
  });
  // Receive connectors (if any) start after the runtime, so a port already in use fails the start loudly.
  // The listener (smtp-server) and the web admin (fastify) are loaded only when configured: an instance
  // that only fetches starts faster and stays smaller.
  const receive = config.receive ?? [];
  const receivers = await (async () => {
    if (receive.length === 0) return { close: async () => undefined };
    const { startReceivers } = await import('../receive/index.js');
    return startReceivers(receive, logger);
  })().catch(async (err) => {
    await runtime.close();
    throw err;
  });
  // With a postgres:// state the pass lines name the instance (runtime.ctx.logger is that child).
  const passLog = runtime.ctx.logger;
  const scheduler = new Scheduler(
    runtime.ctx,
    runtime.plans,
    {
      ...config.scheduler,
      leases: runtime.leases,
      onPass: (s, retry) => {
        const line = passLine(s, retry);
        if (s.ok && s.deferred + s.quarantined === 0) passLog.info(line.fields, line.msg);
        else passLog.warn(line.fields, line.msg);
      },
    },
    passLog,
  );
  let running = config;
  process.on('SIGHUP', () => {
    reopenLog(logger);
    running = reload(o.config, running, runtime, scheduler, logger);
  });
  const web = await (async () => {
    if (!config.web) return undefined;
    const { startWeb } = await import('../web/index.js');
    // A getter: the pages show the configuration a SIGHUP reload put in force.
    return startWeb(() => running, runtime, scheduler, logger);
  })().catch(async (err) => {
    await runtime.close();
    throw err;
  });
  // Several instances on one PostgreSQL state: an action on another instance wakes this one's passes.
  const listener = await listenForRuns(config, scheduler, logger);
  // fetch, route, queue and backup started beside the service hand their work to it (src/control/).
  const control = await startControl(runtime, scheduler, logger);
  // Postmaster alerts watch the scheduler's passes and the target beside it (loaded only when configured).
  const alerts = await (async () => {
    if (!config.alerts) return undefined;
    const { AlertWatcher } = await import('../alerts/watcher.js');
    const watcher = new AlertWatcher({ config, alerts: config.alerts, ctx: runtime.ctx, scheduler, logger });
    await watcher.start();
    return watcher;
  })();
  scheduler.start();
  logger.info({ mailboxes: runtime.plans.length }, 'postbote running');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'stopping: finishing the messages in hand');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  // The passes stop first: a message in hand may be on its way to our own receive connector or use
  // the target pool, and closing either under it would defer it for a refusal we caused ourselves.
  const settled = await scheduler.stop();
  await alerts?.stop();
  if (!settled) {
    // A delivery to the target still hangs after the grace and the settle time. Exiting now is what a
    // kill -9 does (crash-safe: the provider keeps what was not recorded); closing the pool under it
    // would record a deferral caused by ourselves.
    logger.error('stopping: a delivery in flight did not finish in time; exiting without waiting for it');
    logger.flush();
    process.exit(1);
  }
  await control?.close();
  await listener?.stop();
  await web?.close();
  await receivers.close();
  await runtime.close();
  logger.info('postbote stopped');
  logger.flush();
}

/** NOTIFY postbote_run (src/store/postgres-notify.ts) asks this scheduler for a pass of a mailbox of its own. */
async function listenForRuns(config: Config, scheduler: Scheduler, logger: Logger) {
  if (config.stateKind !== 'postgres') return undefined;
  const [{ RunListener }, { instanceLabel }] = await Promise.all([
    import('../store/postgres-notify.js'),
    import('../config/instance.js'),
  ]);
  return RunListener.start({
    url: config.state,
    instance: instanceLabel(config),
    logger: logger.child({ component: 'listen' }),
    onRun: (name) => {
      if (scheduler.statuses().some((s) => s.name === name)) scheduler.requestRun(name);
    },
  });
}

/**
 * Rereads the configuration: mailboxes added, removed or changed take effect (a pass in hand finishes
 * with its old plan). An invalid file changes nothing; each of its errors is logged. Returns the
 * configuration now in force.
 */
function reload(
  file: string,
  running: Config,
  runtime: Runtime,
  scheduler: Scheduler,
  logger: Logger,
): Config {
  let next: Config;
  try {
    next = loadConfig(file);
  } catch (err) {
    const issues = err instanceof ConfigError ? err.issues : [];
    for (const issue of issues) {
      logger.error(
        { file, line: issue.line, column: issue.column, path: issue.path, hint: issue.hint },
        `reload: ${formatIssue(file, issue)}`,
      );
    }
    if (issues.length === 0)
      logger.error({ err: toPostboteError(err).toJSON() }, `reload: ${toPostboteError(err).describe()}`);
    logger.error(
      `reload refused: ${issues.length || 1} error(s) in ${file}; still running the previous configuration`,
    );
    return running;
  }
  const diff = compareConfigs(running, next);
  for (const section of diff.restart)
    logger.warn(`reload: ${section} changed; it takes effect at the next restart`);
  if (!process.env.POSTBOTE_LOG_LEVEL) logger.level = next.log.level;
  runtime.ctx.retry = next.delivery.retry;
  scheduler.reconfigure(next.mailboxes.filter((m) => m.enabled).map((m) => mailboxPlan(next, m, logger)));
  const what = [
    ...diff.added.map((n) => `+${n}`),
    ...diff.removed.map((n) => `-${n}`),
    ...diff.changed.map((n) => `~${n}`),
  ];
  logger.info(
    { added: diff.added, removed: diff.removed, changed: diff.changed },
    `configuration reloaded${what.length > 0 ? `: mailboxes ${what.join(' ')}` : ', no mailbox changed'}`,
  );
  return next;
}
