// What a command needs to do its work, whether it runs in its own process (under the state's lock) or
// inside the running service (asked through the control socket): the same code prints the same
// output and returns the same exit code either way.
import type { Runtime } from '../app/runtime.js';
import type { ControlIo } from '../control/server.js';
import { isPostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { exitCodeOf } from './exit.js';

export interface OpEnv {
  runtime: Pick<Runtime, 'config' | 'store' | 'spool' | 'target'>;
  scheduler: Scheduler;
  logger: Logger;
  /** Inside the running service: its scheduler polls, and a change asks it for a pass at once. */
  service: boolean;
  /** A shared PostgreSQL state: a change wakes the instance holding the mailbox (src/store/postgres-notify.ts). */
  wake?: (mailbox: string) => Promise<void>;
}

/** Output to this process's own stdout/stderr. */
export function localIo(user: string, interactive = process.stderr.isTTY === true): ControlIo {
  return {
    out: (d) => process.stdout.write(d),
    err: (d) => process.stderr.write(d),
    drain: () =>
      new Promise<void>((resolve) => {
        if (!process.stdout.writableNeedDrain) return resolve();
        process.stdout.once('drain', () => resolve());
      }),
    interactive,
    user,
  };
}

/** Runs an op and turns a thrown error into what fail() would print and exit with. */
export async function guarded(io: ControlIo, op: () => Promise<number>): Promise<number> {
  try {
    return await op();
  } catch (err) {
    if (!isPostboteError(err)) throw err;
    io.err(`postbote: ${err.describe()}\n`);
    return exitCodeOf(err.code);
  }
}
