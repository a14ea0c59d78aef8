// Streams a fetched message into the spool: its SHA-256, header block and content digest are taken on
// the way; a small message is gathered whole for memory (held.ts), a larger one copied through pooled
// write buffers into its file.
import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { PostboteError } from '../errors.js';
import { ContentDigest } from './content-digest.js';
import { writeAll } from './file-io.js';
import { HeaderCapture } from './header-capture.js';
import type { HeldMessages } from './held.js';

/**
 * A message too large to keep in memory is copied into a write buffer of this size, written when full.
 * Copying (about 0.1 ms a MiB) lets each network chunk die young; gathering them for a batch kept 16
 * of them alive across the write, long enough to be promoted, and their bytes then waited for a full GC.
 */
const SPOOL_WRITE_BATCH = 256 * 1024;
/**
 * Write buffers kept for reuse: one per large message being fetched at once (a session fetches one
 * message at a time), so a busy run allocates them once. Beyond this many, extra ones are dropped.
 */
const MAX_POOLED_WRITE_BUFFERS = 8;
/**
 * Messages up to this size stay in memory after spooling until delivered (or filed): most mail is
 * small, and a file written, read back and unlinked for a message delivered a millisecond later costs
 * more than holding it briefly (a file create blocks the thread 0.5–3 ms on a busy disk). 64 KiB holds
 * text mail and a small attachment; it is also what a larger message holds of its network chunks before the write buffer
 * takes over (256 KiB held 16 chunks per large message across scavenges, see SPOOL_WRITE_BATCH).
 */
const MAX_KEPT_BYTES = 64 * 1024;

export interface SpooledFile {
  key: string;
  size: number;
  sha256: string;
  /** The message's header block (up to HeaderCapture's cap), for routing and the envelope sender. */
  header: Buffer;
  /** Digest of the message without the fields its path added (content-digest.ts), for duplicates. */
  contentDigest: string;
}

/** Keys are unique per process without a random draw per message: a per-process prefix and a counter. */
const KEY_PREFIX = randomBytes(4).toString('hex');
let keySeq = 0;

/** Writes messages into one spool's msg/ folder, with the write buffers kept for reuse between them. */
export class SpoolWriter {
  /** Idle write buffers (SPOOL_WRITE_BATCH each), for the next large message. */
  private readonly writeBuffers: Buffer[] = [];

  /** `unsynced` and `held` are the spool's own: a file written joins the first, a small message the second. */
  constructor(
    private readonly dir: string,
    private readonly unsynced: Set<string>,
    private readonly held: HeldMessages,
  ) {}

  /** Spool.write(): the file named by its key, or the message held in memory. */
  async write(source: Readable, maxSize: number): Promise<SpooledFile> {
    const key = `${Date.now().toString(36)}-${KEY_PREFIX}${(keySeq++).toString(36)}`;
    const file = join(this.dir, 'msg', key);
    const hash = createHash('sha256');
    const capture = new HeaderCapture();
    const content = new ContentDigest();
    let size = 0;
    // A message up to MAX_KEPT_BYTES is gathered as the chunks themselves: kept for open() (its delivery
    // follows at once and then reads nothing), and written at the end with a few synchronous calls that
    // only touch the page cache (no fsync here: syncAll does that), microseconds instead of four trips
    // through libuv's thread pool. A larger one goes through a write buffer, written whenever full.
    let whole: Buffer[] | undefined = [];
    let fh: FileHandle | undefined;
    let buf: Buffer | undefined;
    let filled = 0;
    /** Copies `chunk` into the write buffer, writing it out whenever it is full (awaited: then reused). */
    const copy = async (chunk: Buffer) => {
      for (let from = 0; from < chunk.length; ) {
        const n = chunk.copy(buf!, filled, from);
        filled += n;
        from += n;
        if (filled < buf!.length) break;
        await writeAll(fh!, [buf!]);
        filled = 0;
      }
    };
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxSize) {
          source.destroy();
          throw new PostboteError('MESSAGE_TOO_LARGE', `message larger than the limit of ${maxSize} bytes`, {
            temporary: false,
            hint: 'raise maxMessageSize for this mailbox or in delivery:',
          });
        }
        hash.update(chunk);
        content.push(chunk);
        capture.push(chunk);
        if (whole && size <= MAX_KEPT_BYTES) {
          whole.push(chunk);
          continue;
        }
        if (whole) {
          fh = await open(file, 'wx');
          buf = this.writeBuffers.pop() ?? Buffer.allocUnsafeSlow(SPOOL_WRITE_BATCH);
          const gathered = whole;
          whole = undefined;
          for (const c of gathered) await copy(c);
        }
        // Most chunks only fill the buffer: a promise per chunk is spared for those.
        if (filled + chunk.length < buf!.length) {
          chunk.copy(buf!, filled);
          filled += chunk.length;
        } else {
          await copy(chunk);
        }
      }
      if (fh) {
        if (filled > 0) await writeAll(fh, [buf!.subarray(0, filled)]);
        await fh.close();
        fh = undefined;
        this.unsynced.add(key);
      } else {
        // One copy of the message's own size: the network chunks it came in (a TLS record holds parts
        // of the next messages too) are not pinned while it waits for its delivery.
        whole = [whole!.length === 1 ? Buffer.from(whole![0]!) : Buffer.concat(whole!, size)];
      }
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await rm(file, { force: true });
      throw err;
    } finally {
      // No write is in flight here (each is awaited), so the buffer can serve the next message.
      if (buf && this.writeBuffers.length < MAX_POOLED_WRITE_BUFFERS) this.writeBuffers.push(buf);
    }
    const sha256 = hash.digest('hex');
    // Small and whole in memory: no file unless it has to outlive its delivery (see the top of spool.ts).
    if (whole) this.held.add(key, { chunks: whole, size, sha256 });
    return {
      key,
      size,
      sha256,
      header: capture.header(),
      contentDigest: content.digest(),
    };
  }
}
