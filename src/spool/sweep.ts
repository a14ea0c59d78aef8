// The crash sweep at start: spool files no record names are leftovers of a crash (the write or the
// record did not finish; the provider still has the message) and are removed, only under the state's lock.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** The state's lock (src/app/state-lock.ts), as sweep() needs it: proof that this process holds it. */
export interface StateLockProof {
  /** Throws unless the lock is held and `path` lies in its state folder. */
  assertHolds(path: string): void;
}

/** Spool.sweep(): `unsynced` is the spool's set of files the next syncAll() fsyncs. */
export async function sweepSpool(
  dir: string,
  known: Set<string>,
  lock: StateLockProof,
  unsynced: Set<string>,
): Promise<number> {
  lock.assertHolds(dir);
  let removed = 0;
  for (const f of await readdir(join(dir, 'tmp'))) {
    await rm(join(dir, 'tmp', f), { force: true });
    removed++;
  }
  for (const f of await readdir(join(dir, 'msg'))) {
    if (known.has(f)) {
      unsynced.add(f); // a killed run may not have synced it: the next syncAll() will
      continue;
    }
    await rm(join(dir, 'msg', f), { force: true });
    removed++;
  }
  return removed;
}
