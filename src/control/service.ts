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
  const env: OpEnv = { runtime, scheduler, logger: logger.child({ component: 'control' }), service: true };
  return startControlServer(controlDir(runtime.config), controlHandlers(env), env.logger);
}
