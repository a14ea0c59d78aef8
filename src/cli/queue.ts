// `postbote queue …`: the mail that waits (deferred) or was set aside (quarantined), and the web page's
// actions on it from the command line: retry now, release to an address, delete, export the bytes.
// The actions are the web page's own (src/web/actions.ts), with the OS user as the one who acted.
// Beside a running service the service does the work (its scheduler starts the pass a release or retry
// asks for); without one this process takes the state's lock and the next pass delivers.
import { resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { createRuntime } from '../app/runtime.js';
import { askService, osUser } from '../control/client.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { EXIT_CONFIG } from './exit.js';
import { localIo } from './op-env.js';
import { type QueueAction, queueArgs } from './queue-args.js';
import { queueOp } from './queue-op.js';
import { sayWaiting, setup, waitMs } from './setup.js';

export { type QueueAction, type QueueArgs, queueArgs } from './queue-args.js';
export { queueOp } from './queue-op.js';

/** Only looking: the log stays at warn so the output is all there is. A change logs who made it. */
const READ_ONLY: readonly QueueAction[] = ['list', 'show', 'export'];

export interface QueueOptions {
  config: string;
  wait?: string;
  state?: string;
  json?: boolean;
  all?: boolean;
  to?: string;
  yes?: boolean;
}

/** The local scheduler never polls: a release or retry is delivered by the next fetch or run. */
class IdleScheduler extends Scheduler {
  override requestRun(): void {}
}

export async function queueCommand(
  action: QueueAction,
  id: string | undefined,
  o: QueueOptions,
): Promise<void> {
  const { config, logger } = setup(o.config, READ_ONLY.includes(action));
  const io = localIo(osUser());
  const args = queueArgs({ action, id, all: o.all, state: o.state, json: o.json, to: o.to });
  if (typeof args === 'string') {
    io.err(`postbote: ${args}\n`);
    process.exitCode = EXIT_CONFIG;
    return;
  }
  if (action === 'delete' && !o.yes && !(await confirm(`Delete message ${args.id} for good? [y/N] `))) {
    io.err('postbote: not deleted (add --yes to delete without asking)\n');
    process.exitCode = EXIT_CONFIG;
    return;
  }
  const remote = await askService(resolve(config.state), 'queue', { ...args });
  if (remote !== undefined) {
    process.exitCode = remote;
    return;
  }
  const runtime = await createRuntime(config, logger, {
    command: `postbote queue ${action}`,
    waitMs: waitMs(o.wait),
    onWait: sayWaiting(logger, true, o.wait),
  });
  try {
    const scheduler = new IdleScheduler(runtime.ctx, runtime.plans, config.scheduler, logger);
    process.exitCode = await queueOp({ runtime, scheduler, logger, service: false }, args, io);
  } finally {
    await runtime.close();
  }
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
