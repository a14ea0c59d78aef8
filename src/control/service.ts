// The service's side of the control socket: what each op does with the running service's store,
// spool and scheduler. The ops are the commands' own (src/cli/*Op), so output and exit codes are the
// same as when the command runs alone.
import { resolve } from 'node:path';
import type { Runtime } from '../app/runtime.js';
import { backupOp } from '../cli/backup.js';
import { EXIT_CONFIG } from '../cli/exit.js';
import { fetchArgs, fetchOp } from '../cli/fetch.js';
import type { OpEnv } from '../cli/op-env.js';
import { queueArgs, queueOp } from '../cli/queue.js';
import { routeArgs, routeOp } from '../cli/route.js';
import type { Logger } from '../log.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { controlDir } from './client.js';
import type { Op } from './protocol.js';
import { type ControlHandler, type ControlServer, startControlServer } from './server.js';

export function controlHandlers(env: OpEnv): Map<Op, ControlHandler> {
  const state = resolve(env.runtime.config.state);
  return new Map<Op, ControlHandler>([
    [
      'ping',
      async (_args, io) => {
        io.out('postbote run is serving this state\n');
        return 0;
      },
    ],
    ['fetch', (args, io) => fetchOp(env, fetchArgs(args), io)],
    ['route', (args, io) => routeOp(env, routeArgs(args), io)],
    [
      'queue',
      async (args, io) => {
        const parsed = queueArgs(args);
        if (typeof parsed === 'string') {
          io.err(`postbote: ${parsed}\n`);
          return EXIT_CONFIG;
        }
        return queueOp(env, parsed, io);
      },
    ],
    ['backup', (args, io) => backupOp(state, args, io)],
  ]);
}

/** Starts `<state>/postbote.sock` for `postbote run` (undefined when the path cannot be a socket). */
export async function startControl(
  runtime: Runtime,
  scheduler: Scheduler,
  logger: Logger,
): Promise<ControlServer | undefined> {
  const env: OpEnv = {
    runtime,
    scheduler,
    logger: logger.child({ component: 'control' }),
    service: true,
    ...(await holderWake(runtime, scheduler)),
  };
  return startControlServer(controlDir(runtime.config), controlHandlers(env), env.logger);
}

/**
 * With a PostgreSQL state shared by several instances, `queue retry/release` beside this service wake
 * the instance that holds the mailbox (NOTIFY, as the web page's actions do), not only this one.
 */
async function holderWake(runtime: Runtime, scheduler: Scheduler): Promise<Pick<OpEnv, 'wake'>> {
  if (runtime.config.stateKind !== 'postgres' || !runtime.instance) return {};
  const [{ PostgresStore }, { leaseHolders }, { wakeHolder }] = await Promise.all([
    import('../store/postgres.js'),
    import('../store/postgres-web.js'),
    import('../store/postgres-notify.js'),
  ]);
  if (!(runtime.store instanceof PostgresStore)) return {};
  const db = runtime.store.pool;
  return {
    wake: wakeHolder({
      db,
      instance: runtime.instance,
      holders: () => leaseHolders(db),
      requestRun: (name) => scheduler.requestRun(name),
    }),
  };
}
