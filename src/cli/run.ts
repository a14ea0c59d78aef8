// `postbote run`: the service. Polls every mailbox on its interval; SIGTERM or SIGINT lets each
// session finish the message in hand, commit and close (within scheduler.shutdownGrace), then exits.
import { createRuntime } from '../app/runtime.js';
import { startControl } from '../control/service.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { sayWaiting, setup, waitMs } from './setup.js';

export async function runCommand(o: { config: string; wait?: string }): Promise<void> {
  const { config, logger } = setup(o.config);
  // The service refuses at once when the state is in use (unless --wait): a second service beside
  // the first is a mistake to report, not to queue.
  const runtime = await createRuntime(config, logger, {
    command: 'postbote run',
    waitMs: waitMs(o.wait),
    onWait: sayWaiting(logger, false, o.wait),
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
  const scheduler = new Scheduler(
    runtime.ctx,
    runtime.plans,
    {
      ...config.scheduler,
      onPass: (s) =>
        logger.info(
          { mailbox: s.mailbox, fetched: s.fetched, delivered: s.delivered, deferred: s.deferred, ok: s.ok },
          `mailbox ${s.mailbox}: ${s.fetched} fetched, ${s.delivered} delivered${s.error ? `, ${s.error.describe()}` : ''}`,
        ),
    },
    logger,
  );
  const web = await (async () => {
    if (!config.web) return undefined;
    const { startWeb } = await import('../web/index.js');
    return startWeb(config, runtime, scheduler, logger);
  })().catch(async (err) => {
    await runtime.close();
    throw err;
  });
  // fetch, route, queue and backup started beside the service hand their work to it (src/control/).
  const control = await startControl(runtime, scheduler, logger);
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
  if (!settled) {
    // A delivery to the target still hangs after the grace and the settle time. Exiting now is what a
    // kill -9 does (crash-safe: the provider keeps what was not recorded); closing the pool under it
    // would record a deferral caused by ourselves.
    logger.error('stopping: a delivery in flight did not finish in time; exiting without waiting for it');
    logger.flush();
    process.exit(1);
  }
  await control?.close();
  await web?.close();
  await receivers.close();
  await runtime.close();
  logger.info('postbote stopped');
  logger.flush();
}
