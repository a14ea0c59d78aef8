// One process at a time on a state folder. `run`, `fetch`, `route` and `demo` take this lock before
// they open the store or sweep the spool: two processes working side by side would deliver the same
// deferred message twice, and one's sweep would remove spool files the other has written but not
// yet recorded (the ENOENT seen with three cron `fetch` at once).
//
// Why SQLite: Node has no flock(). The lock is an open write transaction (BEGIN EXCLUSIVE) on
// `<state>/postbote.lock`, an empty SQLite file of its own. On Linux and macOS SQLite takes it with
// fcntl() POSIX locks; on Windows with LockFileEx(). Both are owned by the kernel and released when
// the process ends in any way, kill -9 and power cut included, so there is never a stale lock to
// clean up by hand and no PID guessing decides who may run (a PID file alone cannot: PIDs are
// reused, and two processes can both see "no lock" and write it). The file is never opened by Node's
// fs: a POSIX lock is lost when the process closes *any* descriptor of the file; SQLite keeps its own
// descriptors open for that reason. A network file system (NFS) may not honour these locks: keep the
// state on a local disk.
//
// Who holds it is written, only after the lock is won, to the side file `<state>/postbote.pid`
// (PID, command, start time, host), so a refusal can name the holder. A side file left by a killed
// holder is simply overwritten by the next winner: the lock decides, the side file only informs.
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { PostboteError } from '../errors.js';

export const LOCK_FILE = 'postbote.lock';
export const OWNER_FILE = 'postbote.pid';
/**
 * Between two tries while waiting: a pass ends at an unpredictable moment, and a try costs one
 * open and one fcntl(), so 10 tries a second take the lock soon after it is free at no real cost.
 */
const LOCK_POLL_MS = 100;
/**
 * How long a loser waits for a winner of a moment ago to write its side file before it names no one:
 * the winner writes it right after BEGIN EXCLUSIVE, a few milliseconds even on a busy machine.
 */
const OWNER_SETTLE_MS = 500;
/** A side file is a few dozen bytes; anything larger is not ours and is not read whole. */
const MAX_OWNER_FILE = 4096;

export interface LockOwner {
  pid: number;
  /** 'postbote run', 'postbote fetch'… */
  command: string;
  /** When the holding process started (ISO 8601). */
  startedAt: string;
  host: string;
}

export interface AcquireOptions {
  /** What this process is, for the side file: 'postbote fetch'. */
  command: string;
  /** How long to wait for a holder to finish; 0 refuses at once. */
  waitMs: number;
  /** Called once when the lock is taken and this process starts waiting. */
  onWait?: (holder: string) => void;
}

export class StateLock {
  private db: Database.Database | undefined;

  private constructor(
    /** The state folder, absolute. */
    readonly dir: string,
    db: Database.Database,
  ) {
    this.db = db;
  }

  /**
   * Takes the lock on `dir` (which must exist), waiting up to `waitMs` for a holder to finish.
   * Rejects with STATE_IN_USE naming the holder ("state ./data is in use by postbote run, PID 1234,
   * started 2026-11-29 23:10:03") when it is still held after that.
   */
  static async acquire(dir: string, o: AcquireOptions): Promise<StateLock> {
    const abs = resolve(dir);
    const deadline = Date.now() + o.waitMs;
    let told = false;
    for (;;) {
      const db = tryLock(`${abs}${sep}${LOCK_FILE}`);
      if (db) {
        const lock = new StateLock(abs, db);
        try {
          lock.writeOwner(o.command);
        } catch (err) {
          lock.release(); // a full disk must not leave this process holding a lock it cannot use
          throw new PostboteError(
            'STORE',
            `cannot write ${OWNER_FILE} in ${abs}: ${(err as Error).message}`,
            {
              temporary: true,
              cause: err,
            },
          );
        }
        return lock;
      }
      if (Date.now() >= deadline) {
        const holder = describeOwner(await settledOwner(abs));
        throw new PostboteError('STATE_IN_USE', `state ${displayPath(abs)} is in use by ${holder}`, {
          temporary: true,
          hint:
            'only one postbote process works on a state at a time: let it finish or stop it ' +
            '(fetch and route wait with --wait 5m; beside a running service a cron fetch is not needed)',
        });
      }
      if (!told) {
        told = true;
        o.onWait?.(describeOwner(await settledOwner(abs)));
      }
      await sleep(Math.min(LOCK_POLL_MS, Math.max(0, deadline - Date.now())));
    }
  }

  get held(): boolean {
    return this.db !== undefined;
  }

  /** Throws unless this lock is held and `path` lies inside its state folder (the spool sweep asks). */
  assertHolds(path: string): void {
    if (!this.db || outside(this.dir, path)) {
      throw new PostboteError('STATE_IN_USE', `${path} is not under a held lock of ${this.dir}`, {
        temporary: false,
      });
    }
  }

  /** Removes the side file, then ends the transaction: the next process may start at once. */
  release(): void {
    const db = this.db;
    if (!db) return;
    this.db = undefined;
    try {
      unlinkSync(`${this.dir}${sep}${OWNER_FILE}`);
    } catch {
      // already gone (removed by hand): the lock is what counts
    }
    db.close(); // closing ends the open transaction and gives up the file lock
  }

  private writeOwner(command: string): void {
    const owner: LockOwner = {
      pid: process.pid,
      command,
      startedAt: new Date(performance.timeOrigin).toISOString(),
      host: hostname(),
    };
    // Written aside and renamed, so a loser reading it never sees half a file. Only the holder writes
    // it, so one fixed temporary name is enough.
    const tmp = `${this.dir}${sep}${OWNER_FILE}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(owner)}\n`);
    renameSync(tmp, `${this.dir}${sep}${OWNER_FILE}`);
  }
}

/** The open transaction that is the lock, or undefined when another connection holds it. */
function tryLock(file: string): Database.Database | undefined {
  let db: Database.Database | undefined;
  try {
    // timeout 0: SQLite's own busy wait would block the event loop; the caller polls instead.
    db = new Database(file, { timeout: 0 });
    // No journal file beside the lock: it is never written, and a stray `-journal` would puzzle admins.
    db.pragma('journal_mode = MEMORY');
    db.exec('BEGIN EXCLUSIVE');
    return db;
  } catch (err) {
    db?.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return undefined;
    throw new PostboteError('STORE', `cannot lock ${file}: ${(err as Error).message}`, {
      temporary: false,
      cause: err,
      hint: 'the state folder must be writable by this user',
    });
  }
}

/** The side file's holder, if it names a live process; undefined when missing, torn or stale. */
export function readOwner(dir: string): LockOwner | undefined {
  let text: string;
  try {
    text = readFileSync(`${dir}${sep}${OWNER_FILE}`, 'utf8');
  } catch {
    return undefined;
  }
  if (text.length > MAX_OWNER_FILE) return undefined;
  let o: Partial<LockOwner>;
  try {
    o = JSON.parse(text) as Partial<LockOwner>;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(o.pid) || typeof o.command !== 'string' || typeof o.startedAt !== 'string')
    return undefined;
  const owner = { pid: o.pid!, command: o.command, startedAt: o.startedAt, host: String(o.host ?? '') };
  // On another host (a shared folder) the PID cannot be checked here: trust the file.
  if (owner.host === hostname() && !alive(owner.pid)) return undefined;
  return owner;
}

/** The holder as its side file names it, giving a winner of a moment ago time to write it. */
async function settledOwner(dir: string): Promise<LockOwner | undefined> {
  const deadline = Date.now() + OWNER_SETTLE_MS;
  for (;;) {
    const owner = readOwner(dir);
    if (owner || Date.now() >= deadline) return owner;
    await sleep(25);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, belongs to another user
  }
}

/** "postbote run, PID 1234, started 2026-11-29 23:10:03" (local time), or a fallback without a name. */
export function describeOwner(owner: LockOwner | undefined, here = hostname()): string {
  if (!owner) return 'another process (it has not written its name to postbote.pid)';
  const host = owner.host && owner.host !== here ? ` on ${owner.host}` : '';
  return `${owner.command}, PID ${owner.pid}${host}, started ${localTime(owner.startedAt)}`;
}

function localTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
  );
}

/** The folder as the user would type it: relative to the working directory when inside it. */
function displayPath(abs: string): string {
  if (abs === process.cwd()) return '.';
  return outside(process.cwd(), abs) ? abs : `.${sep}${relative(process.cwd(), abs)}`;
}

function outside(dir: string, path: string): boolean {
  const rel = relative(dir, resolve(path));
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}
