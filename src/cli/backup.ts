// `postbote backup DIR`: a consistent copy of the store and its spool files into a new folder. Beside a
// running service the service takes it (through the control socket, so DIR must be writable by the
// service's user); otherwise this process takes the state's lock for the moment of the copy.
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { backupState } from '../app/backup.js';
import { StateLock } from '../app/state-lock.js';
import { askService, osUser } from '../control/client.js';
import type { ControlIo } from '../control/server.js';
import { PostboteError } from '../errors.js';
import { EXIT_CONFIG } from './exit.js';
import { guarded, localIo } from './op-env.js';
import { sayWaiting, setup, waitMs } from './setup.js';

export async function backupCommand(dir: string, o: { config: string; wait?: string }): Promise<void> {
  const { config, logger } = setup(o.config, true, 'backup');
  const state = resolve(config.state);
  const args = { dir: resolve(dir) };
  const remote = await askService(state, 'backup', args);
  if (remote !== undefined) {
    process.exitCode = remote;
    return;
  }
  if (config.stateKind !== 'sqlite' || !existsSync(state)) {
    throw new PostboteError('STORE', `no state to back up in ${config.state}`, {
      temporary: false,
      hint: 'point -c at the configuration whose state: you want to back up',
    });
  }
  const lock = await StateLock.acquire(state, {
    command: 'postbote backup',
    waitMs: waitMs(o.wait),
    onWait: sayWaiting(logger, true, o.wait),
  });
  try {
    process.exitCode = await backupOp(state, args, localIo(osUser()));
  } finally {
    lock.release();
  }
}

/** The copy and its report, in this process or in the service. */
export async function backupOp(
  stateDir: string,
  raw: Record<string, unknown>,
  io: ControlIo,
): Promise<number> {
  if (typeof raw.dir !== 'string' || !isAbsolute(raw.dir) || raw.dir.length > 4096) {
    io.err('postbote: backup: expected an absolute folder path\n');
    return EXIT_CONFIG;
  }
  const dir = raw.dir;
  return guarded(io, async () => {
    const r = await backupState(stateDir, dir);
    const mb = (r.bytes / 1048576).toFixed(1);
    io.out(
      `backup of ${stateDir} in ${r.dir}: ${r.records} records, ${r.files} spool files (${mb} MB), store schema ${r.schemaVersion}\n`,
    );
    if (r.missing > 0)
      io.err(`postbote: ${r.missing} spool files named by the store were already missing from the state\n`);
    return 0;
  });
}
