// The spool keeps the exact bytes fetched, so a delivery retry never needs the provider again.
// A file is written under tmp/, fsynced, then renamed into msg/ (and the folder fsynced): a crash
// leaves either nothing or a complete file, never a torn one that looks whole. Quarantined messages
// stay in msg/ too: their state lives in the store, so no crash can separate a file from its record.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { open, readdir, rename, rm, unlink } from 'node:fs/promises';
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

  constructor(dir: string) {
    this.dir = dir;
    for (const sub of ['tmp', 'msg']) mkdirSync(join(dir, sub), { recursive: true });
  }

  path(key: string): string {
    return join(this.dir, 'msg', key);
  }

  /**
   * Streams `source` into the spool with backpressure, durably. Rejects (and leaves nothing behind)
   * when the source errors, e.g. a connection dropped mid-RETR, or when maxSize is exceeded.
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
      await fsync(tmp);
      await rename(tmp, this.path(key));
      await fsync(join(this.dir, 'msg'));
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

  async remove(key: string): Promise<void> {
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
      if (known.has(f)) continue;
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
