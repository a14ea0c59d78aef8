// The spool keeps the exact bytes fetched, so a delivery retry never needs the provider again.
// A file is written under tmp/ and renamed into msg/ when complete: a crash leaves either nothing or a
// complete file, never a torn one that looks whole. Quarantined messages stay in msg/ too: their state
// lives in the store, so no crash can separate a file from its record.
//
// Group commit: a process crash (kill -9) cannot lose what was written, the page cache survives it;
// only a power cut can. So files are fsynced in batches by syncAll(), which the mailbox pass calls
// before it deletes anything at the provider. A message delivered before that needed no fsync at all.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PostboteError } from '../errors.js';
import { HeaderCapture } from './header-capture.js';

/** Large reads keep syscalls per message low; 256 KiB per open stream bounds memory. */
const SPOOL_READ_CHUNK = 256 * 1024;

export interface SpooledFile {
  key: string;
  size: number;
  sha256: string;
  /** The message's header block (up to HeaderCapture's cap), for routing and the envelope sender. */
  header: Buffer;
}

export class Spool {
  readonly dir: string;
  /** Files written since the last syncAll(): not yet safe against a power cut. */
  private readonly unsynced = new Set<string>();

  constructor(dir: string) {
    this.dir = dir;
    for (const sub of ['tmp', 'msg']) mkdirSync(join(dir, sub), { recursive: true });
  }

  path(key: string): string {
    return join(this.dir, 'msg', key);
  }

  /**
   * Streams `source` into the spool with backpressure. Rejects (and leaves nothing behind) when the
   * source errors, e.g. a connection dropped mid-RETR, or when maxSize is exceeded. The file survives a
   * process crash at once and a power cut after the next syncAll().
   */
  async write(source: Readable, maxSize: number): Promise<SpooledFile> {
    const key = `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    const tmp = join(this.dir, 'tmp', key);
    const hash = createHash('sha256');
    const capture = new HeaderCapture();
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > maxSize) {
          done(
            new PostboteError('MESSAGE_TOO_LARGE', `message larger than the limit of ${maxSize} bytes`, {
              temporary: false,
              hint: 'raise maxMessageSize for this mailbox or in delivery:',
            }),
          );
          return;
        }
        hash.update(chunk);
        capture.push(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(source, meter, createWriteStream(tmp, { flags: 'wx' }));
      await rename(tmp, this.path(key));
      this.unsynced.add(key);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { key, size, sha256: hash.digest('hex'), header: capture.header() };
  }

  open(key: string): Readable {
    return createReadStream(this.path(key), { highWaterMark: SPOOL_READ_CHUNK });
  }

  /** Reads the header block of a spooled message again (after a restart, for routing or the sender). */
  async header(key: string): Promise<Buffer> {
    const capture = new HeaderCapture();
    for await (const chunk of this.open(key)) {
      capture.push(chunk as Buffer);
      if (capture.done) break;
    }
    return capture.header();
  }

  /**
   * Whether the spool file is complete. After a power cut an unsynced file can be empty or short while
   * its record survived; the provider still has the message then (nothing is deleted before syncAll).
   */
  async intact(key: string, size: number): Promise<boolean> {
    try {
      return (await stat(this.path(key))).size === size;
    } catch {
      return false;
    }
  }

  /** Makes every file written so far durable against a power cut: one fsync each, one for the folder. */
  async syncAll(): Promise<void> {
    if (this.unsynced.size === 0) return;
    const keys = [...this.unsynced];
    this.unsynced.clear();
    await Promise.all(
      keys.map((key) =>
        fsync(this.path(key)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err; // delivered and removed meanwhile: nothing to keep
        }),
      ),
    );
    await fsync(join(this.dir, 'msg'));
  }

  async remove(key: string): Promise<void> {
    this.unsynced.delete(key);
    await unlink(this.path(key)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Removes leftovers of a crash: partial files in tmp/ and files the store does not know. */
  async sweep(known: Set<string>): Promise<number> {
    let removed = 0;
    for (const f of await readdir(join(this.dir, 'tmp'))) {
      await rm(join(this.dir, 'tmp', f), { force: true });
      removed++;
    }
    for (const f of await readdir(join(this.dir, 'msg'))) {
      if (known.has(f)) {
        this.unsynced.add(f); // a killed run may not have synced it: the next syncAll() will
        continue;
      }
      await rm(join(this.dir, 'msg', f), { force: true });
      removed++;
    }
    return removed;
  }
}

async function fsync(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
