// The spool keeps the exact bytes fetched, so a delivery retry never needs the provider again.
// A file counts only once the store has a record of it, made after the file is complete (with its
// size and SHA-256): a crash mid-write leaves a file no record names, which sweep() removes at the
// next start, so no torn file is ever taken for whole (and none needs a rename). Quarantined messages
// stay in msg/ too: their state lives in the store, so no crash can separate a file from its record.
//
// Group commit: a process crash (kill -9) cannot lose what was written, the page cache survives it;
// only a power cut can. So files are fsynced in batches by syncAll(), which the mailbox pass calls
// before it deletes anything at the provider. A message delivered before that needed no fsync at all.
//
// A small message (most mail) gets no file at all unless it outlives its delivery: its bytes stay in
// memory while it is delivered, and a file is written only when it must last — retain() before a
// deferred or quarantined state is committed, syncAll() before anything leaves the provider, or when
// memory for such messages runs out. Until then the provider still has the message: a crash costs
// only a fetch again (missing-bytes.ts), never the message, exactly as a power cut before syncAll.
//
// With a shared tier (shared-bytes.ts, a PostgreSQL state) what outlives a pass is copied there by
// retain(), and a file this spool lacks (another instance fetched it, or this one lost its folder) is
// materialised from it on first read: open() and ensure() fetch it, checked against its SHA-256.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { PostboteError } from '../errors.js';
import { fsync, writeSmallSync } from './file-io.js';
import { HeaderCapture } from './header-capture.js';
import { HeldMessages } from './held.js';
import { materialiseInto } from './materialise.js';
import type { BytesExpectation, MaterialiseTarget, SharedBytes } from './shared-bytes.js';
import { type StateLockProof, sweepSpool } from './sweep.js';
import { type SpooledFile, SpoolWriter } from './writer.js';

export type { StateLockProof } from './sweep.js';
export type { SpooledFile } from './writer.js';

/**
 * Reads of a spool file (large messages on their way to the target). 64 KiB, not 256: every chunk is
 * a fresh allocation that lives until the next scavenge, and V8 schedules scavenges by JS objects, not
 * by the bytes behind them, so the garbage waiting grows with the chunk size (the 200 MB message's
 * delivery peaked 12 MB higher with 256 KiB). Still few syscalls: 16 a MiB.
 */
const SPOOL_READ_CHUNK = 64 * 1024;
/**
 * The kept set's cap. Held at once are two messages per session (the one with the target and the
 * next being read; 10 sessions by default, 20 in the benchmark): at most 2.5 MiB. Mail that outlives
 * its delivery (deferred, quarantined) is filed and leaves memory; beyond the cap the oldest are filed.
 */
const MAX_KEPT_TOTAL = 4 * 1024 * 1024;

/** Where a record's bytes were found by ensure(), or why they were not. */
export type EnsureResult = { ok: true; from: 'local' | 'shared' } | { ok: false; why: string };

export class Spool implements MaterialiseTarget {
  readonly dir: string;
  /** The copies every instance can read (PostgreSQL state); undefined for a folder state. */
  readonly shared: SharedBytes | undefined;
  /** Materialisations in flight, by key: a web view and a pass asking at once fetch it once. */
  private readonly restoring = new Map<string, Promise<boolean>>();
  /** Files written since the last syncAll(): not yet safe against a power cut. */
  private readonly unsynced = new Set<string>();
  /**
   * Small messages just fetched, by key, oldest first: what open() serves without reading a file. Not
   * filed: memory is their only copy here (the provider still has them).
   */
  private readonly held = new HeldMessages(MAX_KEPT_TOTAL, (key) => this.persist(key));
  /** Streams new messages into msg/ (or into `held`), with its pooled write buffers. */
  private readonly writer: SpoolWriter;

  constructor(dir: string, shared?: SharedBytes) {
    this.dir = dir;
    this.shared = shared;
    for (const sub of ['tmp', 'msg']) mkdirSync(join(dir, sub), { recursive: true });
    this.writer = new SpoolWriter(dir, this.unsynced, this.held);
  }

  path(key: string): string {
    return join(this.dir, 'msg', key);
  }

  /**
   * Streams `source` into the spool with backpressure. Rejects (and leaves nothing behind) when the
   * source errors, e.g. a connection dropped mid-RETR, or when maxSize is exceeded. A large message's
   * file survives a process crash at once and a power cut after the next syncAll(); a small one is
   * held in memory until it is delivered (removed) or has to last (retain(), syncAll()).
   */
  write(source: Readable, maxSize: number): Promise<SpooledFile> {
    return this.writer.write(source, maxSize);
  }

  /**
   * Writes a message held only in memory to its file (fsynced by the next syncAll): before a state is
   * committed that needs the bytes after this process (quarantined, deferred).
   */
  persist(key: string): void {
    const d = this.held.get(key);
    if (!d) return;
    writeSmallSync(this.path(key), d.chunks);
    this.unsynced.add(key);
    this.held.delete(key); // from now on the file is the copy (a stream already open keeps its chunks)
  }

  /** Whether this spool has the message's bytes: in memory, or as a file. */
  has(key: string): boolean {
    return this.held.has(key) || existsSync(this.path(key));
  }

  /**
   * The message's bytes: from memory when it was just written and is small, else from the file; with
   * a shared tier, a file this spool lacks is materialised from it first.
   */
  open(key: string): Readable {
    if (!this.shared || this.held.has(key)) return this.openLocal(key);
    return Readable.from(this.openShared(key), { objectMode: false });
  }

  /** This spool's copy only (memory or file), never the shared one: what retain() copies from. */
  openLocal(key: string): Readable {
    const kept = this.held.get(key);
    if (kept) return Readable.from(kept.chunks, { objectMode: false });
    return createReadStream(this.path(key), { highWaterMark: SPOOL_READ_CHUNK });
  }

  private async *openShared(key: string): AsyncGenerator<Buffer> {
    const present = await stat(this.path(key)).then(
      () => true,
      () => false,
    );
    if (!present && !(await this.restore(key))) {
      throw new PostboteError(
        'SPOOL',
        `message bytes ${key} are neither in ${this.dir} nor in the shared store`,
        {
          temporary: false,
        },
      );
    }
    yield* createReadStream(this.path(key), { highWaterMark: SPOOL_READ_CHUNK });
  }

  /** Fetches `key` from the shared tier into this spool, once for concurrent callers. */
  private restore(key: string, expect?: BytesExpectation): Promise<boolean> {
    const shared = this.shared;
    if (!shared) return Promise.resolve(false);
    let p = this.restoring.get(key);
    if (!p) {
      p = shared.fetchInto(key, this, expect).finally(() => this.restoring.delete(key));
      this.restoring.set(key, p);
    }
    return p;
  }

  /**
   * Makes sure the spool holds the record's intact bytes: the local file, or else the shared copy
   * (checked against the record's size and SHA-256). A shared store that cannot be reached rejects
   * with its (temporary) error: that is not a verdict that the bytes are gone.
   */
  async ensure(key: string, size: number, sha256?: string): Promise<EnsureResult> {
    if (await this.intact(key, size, sha256)) return { ok: true, from: 'local' };
    if (!this.shared) return { ok: false, why: `not intact in ${this.dir}` };
    if (await this.restore(key, sha256 ? { size, sha256 } : undefined)) {
      // Only a digest proves it: without one (never in practice) the file is checked for its size.
      if (sha256 || (await this.intact(key, size))) return { ok: true, from: 'shared' };
    }
    return { ok: false, why: `not intact in ${this.dir} and not in the shared store (or damaged there)` };
  }

  /**
   * Makes the bytes outlive this delivery: written to their file if they were only in memory, and
   * copied into the shared tier when there is one. Called before a state that outlives the attempt
   * (deferred, quarantined) is committed, and before the provider's copy goes.
   */
  async retain(key: string, size: number, sha256: string): Promise<void> {
    this.persist(key);
    // Local only: a put holding a transfer slot must never wait for a fetch that needs another one.
    await this.shared?.put(key, size, sha256, () => this.openLocal(key));
  }

  /**
   * Writes `chunks` as the spool file `key` through tmp/ (a half-written file is never in msg/) when
   * their size and SHA-256 match `expect`; otherwise keeps nothing and returns false. No fsync: the
   * shared copy stays the durable one, and a short file after a power cut is fetched again.
   */
  materialise(key: string, expect: BytesExpectation, chunks: AsyncIterable<Buffer>): Promise<boolean> {
    return materialiseInto(this.dir, key, expect, chunks, this.held);
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
   * Whether the spool file is the one recorded: its size and, when the record has one, its SHA-256.
   * After a power cut an unsynced file can be empty or short while its record survived, and a disk
   * or filesystem fault can leave the right length with the wrong bytes; the provider still has the
   * message then (nothing is deleted before syncAll), so it is fetched again rather than delivered damaged.
   */
  async intact(key: string, size: number, sha256?: string): Promise<boolean> {
    const kept = this.held.get(key);
    // Not filed: memory holds the only copy here, checked when it was fetched.
    if (kept) return kept.size === size && (sha256 === undefined || kept.sha256 === sha256);
    try {
      if ((await stat(this.path(key))).size !== size) return false;
      if (!sha256) return true;
      const hash = createHash('sha256');
      // The file itself, never the copy kept in memory: that is what a restart would deliver.
      for await (const chunk of createReadStream(this.path(key), { highWaterMark: SPOOL_READ_CHUNK }))
        hash.update(chunk as Buffer);
      return hash.digest('hex') === sha256;
    } catch {
      return false;
    }
  }

  /**
   * Makes every message still here durable against a power cut: what is only in memory is filed (a
   * delivered message is gone from memory by now, so the rest must last), then one fsync per file
   * written and one for the folder. The pass calls it before anything leaves the provider.
   */
  async syncAll(): Promise<void> {
    for (const key of this.held.keys()) this.persist(key);
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
    if (this.held.delete(key)) return; // never written: nothing on disk
    // Synchronous for the same reason as small writes: a directory entry, no thread-pool trip.
    try {
      unlinkSync(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /**
   * Removes leftovers of a crash: files the store does not know (and tmp/, used by earlier versions).
   * Only under the state's lock: another live process's file is unknown to the store until it records
   * it, and removing it would cost that process its message (ENOENT at delivery).
   */
  sweep(known: Set<string>, lock: StateLockProof): Promise<number> {
    return sweepSpool(this.dir, known, lock, this.unsynced);
  }
}
