// Maildir delivery (the qmail/Dovecot layout): the message is written once into tmp/, fsynced, then
// hard-linked into every recipient's new/ and each new/ is fsynced; only then is the delivery final.
// Folders created for a new recipient are fsynced into their parents first.
import { randomBytes } from 'node:crypto';
import {
  copyFile,
  type FileHandle,
  link,
  mkdir,
  open,
  readdir,
  rename,
  stat,
  unlink,
} from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';

let sequence = 0;

/** The file-system calls that make folders durable; injectable so tests can watch every fsync. */
export interface MaildirFs {
  mkdir(path: string, options: { mode: number }): Promise<unknown>;
  open(path: string, flags: string, mode?: number): Promise<FileHandle>;
}

const nodeFs: MaildirFs = { mkdir, open };

// Maildirs being created right now: a second delivery to the same new recipient waits for the first
// one's fsyncs instead of seeing EEXIST and answering 250 before the folder is durable.
const creating = new Map<string, Promise<void>>();

/**
 * DIR/<recipient>, created with tmp/, new/ and cur/ when missing. A folder's name lives in its
 * parent's directory entries, so every parent of a folder made here is fsynced before this resolves:
 * a power cut after the 250 must not take the Maildir (and the message linked into it) away.
 */
export async function ensureMaildir(
  root: string,
  recipient: string,
  fs: MaildirFs = nodeFs,
): Promise<string> {
  const dir = join(root, recipient);
  const pending = creating.get(dir);
  if (pending) await pending;
  else {
    const work = createMaildir(dir, fs).finally(() => creating.delete(dir));
    creating.set(dir, work);
    await work;
  }
  return dir;
}

async function createMaildir(dir: string, fs: MaildirFs): Promise<void> {
  await createDurably(dir, fs);
  let created = false;
  for (const sub of ['tmp', 'new', 'cur']) created = (await createDir(join(dir, sub), fs)) || created;
  if (created) await syncDir(dir, fs);
}

/** Creates `path` (and missing ancestors), each new one made durable in its parent. */
async function createDurably(path: string, fs: MaildirFs): Promise<void> {
  if (await createDir(path, fs)) await syncDir(dirname(path), fs);
}

/** true when `path` was created now; ancestors it needed are created durably first. */
async function createDir(path: string, fs: MaildirFs): Promise<boolean> {
  try {
    await fs.mkdir(path, { mode: 0o700 });
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'ENOENT' || dirname(path) === path) throw err;
  }
  await createDurably(dirname(path), fs);
  try {
    await fs.mkdir(path, { mode: 0o700 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** A name unique across processes and time, as the Maildir specification describes it. */
export function maildirName(now = Date.now()): string {
  const host = hostname().replace(/\//g, '\\057').replace(/:/g, '\\072');
  const seconds = Math.floor(now / 1000);
  const micros = (now % 1000) * 1000;
  sequence = (sequence + 1) % 1_000_000_000;
  return `${seconds}.M${micros}P${process.pid}Q${sequence}R${randomBytes(6).toString('hex')}.${host}`;
}

/**
 * Stores `body` for every recipient (lower-case addresses, already checked to be safe folder names).
 * Resolves only when the message is durable in each new/; on failure nothing is left in any new/
 * that was not complete (a crash may leave a file in tmp/, which Maildir readers ignore).
 */
export async function deliverToMaildir(
  root: string,
  recipients: string[],
  body: Readable,
  fs: MaildirFs = nodeFs,
): Promise<string> {
  const [first, ...rest] = recipients;
  if (first === undefined) throw new Error('no recipients');
  const dirs = [await ensureMaildir(root, first, fs)];
  for (const r of rest) dirs.push(await ensureMaildir(root, r, fs));
  const base = maildirName();
  const tmpPath = join(dirs[0]!, 'tmp', base);
  const size = await writeDurably(tmpPath, body);
  // S= lets Dovecot know the size without a stat (its maildir "S=" extension).
  const name = `${base},S=${size}`;
  const placed: string[] = [];
  try {
    for (const dir of dirs) {
      await placeInNew(tmpPath, dir, name);
      placed.push(join(dir, 'new', name));
      await syncDir(join(dir, 'new'), fs);
    }
  } catch (err) {
    // The client gets no 250 and will send again: take back the copies already placed, so the
    // retry does not duplicate them (best effort; a reader may have moved one to cur/ already).
    await Promise.all(placed.map((p) => unlink(p).catch(() => {})));
    throw err;
  } finally {
    await unlink(tmpPath).catch(() => {});
  }
  return name;
}

async function writeDurably(path: string, body: Readable): Promise<number> {
  const handle = await open(path, 'wx', 0o600);
  let size = 0;
  try {
    // One awaited write per chunk is the backpressure: the body is read only as fast as the disk takes it.
    for await (const chunk of body as AsyncIterable<Buffer>) {
      await handle.write(chunk);
      size += chunk.length;
    }
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await unlink(path).catch(() => {});
    throw err;
  }
  await handle.close();
  return size;
}

/** link() is atomic: new/ sees the whole file or nothing. Across file systems: copy, fsync, rename. */
async function placeInNew(tmpPath: string, dir: string, name: string): Promise<void> {
  try {
    await link(tmpPath, join(dir, 'new', name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    const copy = join(dir, 'tmp', name);
    await copyFile(tmpPath, copy);
    const handle = await open(copy, 'r');
    await handle.sync().finally(() => handle.close());
    await rename(copy, join(dir, 'new', name));
  }
}

async function syncDir(dir: string, fs: MaildirFs): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The Maildir convention: a file that sat in tmp/ for 36 hours was left by a crash and may go. */
export const TMP_MAX_AGE_MS = 36 * 3_600_000;

/**
 * Removes what crashes left in DIR/<recipient>/tmp/ (a kill during DATA: the client got no 250 and
 * sends again, so the file is nobody's), once it is older than `maxAgeMs`: a younger one may still be
 * a delivery in progress. Returns how many files went; a folder that cannot be read is skipped.
 */
export async function sweepMaildirTmp(
  root: string,
  now = Date.now(),
  maxAgeMs = TMP_MAX_AGE_MS,
): Promise<number> {
  let removed = 0;
  let boxes: string[];
  try {
    boxes = await readdir(root);
  } catch {
    return 0; // nothing delivered yet
  }
  for (const box of boxes) {
    const tmp = join(root, box, 'tmp');
    let files: string[];
    try {
      files = await readdir(tmp);
    } catch {
      continue;
    }
    for (const f of files) {
      const file = join(tmp, f);
      try {
        if (now - (await stat(file)).mtimeMs < maxAgeMs) continue;
        await unlink(file);
        removed++;
      } catch {
        // gone meanwhile, or not ours to remove: leave it
      }
    }
  }
  return removed;
}
