// Message bytes in PostgreSQL, for a state several instances share (the SharedBytes tier of the
// spool, src/spool/shared-bytes.ts): chunked bytea rows (migration 6), written in one transaction,
// read back one chunk per query, so neither side ever holds a whole message. Chosen over large
// objects and over copying every message by measurement (bench/pg-bytes.ts, ARCHITECTURE.md).
// Its own small pool: a 20 MB transfer must not hold a connection the store's record writes need.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { PostboteError } from '../errors.js';
import type { BytesExpectation, MaterialiseTarget, SharedBytes } from '../spool/shared-bytes.js';
import type { Spool } from '../spool/spool.js';
import { Semaphore } from '../util/semaphore.js';
import { PgConnection, type Queryable } from './postgres-pool.js';

/** Rows of 256 KiB: big enough that per-row cost is small (bench), small enough to bound memory. */
export const CHUNK_SIZE = 256 * 1024;
/**
 * Transfers at once per instance (also its pool's size): a burst of deferrals when the target goes
 * down must not take every database connection, and two keep a 2-core server's disk busy.
 */
export const MAX_TRANSFERS = 2;
/** One statement (one chunk) that takes this long means the database is stuck, not slow. */
const STATEMENT_TIMEOUT_MS = 30_000;
/** A whole transfer: this, plus 1 s per 256 KiB (a slow link's 256 KiB/s), or it is given up. */
const TRANSFER_BASE_MS = 60_000;
const TRANSFER_MS_PER_CHUNK = 1_000;
/** Records that name no key after this long lost their race (see sweepOrphans). */
const ORPHAN_AGE_MS = 60 * 60_000;

export interface PgSharedBytesOptions {
  chunkSize?: number;
  now?: () => number;
}

export class PgSharedBytes implements SharedBytes {
  private readonly db: PgConnection;
  private readonly slots = new Semaphore(MAX_TRANSFERS);
  private readonly chunkSize: number;
  private readonly now: () => number;

  constructor(url: string, o: PgSharedBytesOptions = {}) {
    // Set at connect, not per transfer: every round trip counts on a loaded server (bench).
    this.db = new PgConnection(url, MAX_TRANSFERS, { statement_timeout: STATEMENT_TIMEOUT_MS });
    this.chunkSize = o.chunkSize ?? CHUNK_SIZE;
    this.now = o.now ?? Date.now;
  }

  /**
   * Round trips are what a copy costs (bench/pg-bytes.ts): a message of one chunk (most mail) is one
   * autocommit statement that writes its header and its chunk; a longer one is one transaction of
   * that statement and one INSERT per further chunk, committed whole or not at all.
   */
  async put(key: string, size: number, sha256: string, source: () => Readable): Promise<void> {
    await this.slots.run(async () => {
      const deadline = this.deadline(size);
      const hash = createHash('sha256');
      let total = 0;
      let chunks: AsyncIterator<Buffer>;
      let first: IteratorResult<Buffer>;
      try {
        chunks = rechunk(source(), this.chunkSize)[Symbol.asyncIterator]();
        first = await chunks.next();
      } catch (err) {
        // No local copy (another instance fetched it): fine when it is shared already.
        if (await this.has(key)) return;
        throw err;
      }
      const take = (chunk: Buffer) => {
        this.checkDeadline(deadline, key);
        hash.update(chunk);
        total += chunk.length;
        if (total > size) throw this.mismatch(key);
        return chunk;
      };
      const head = take(first.done ? Buffer.alloc(0) : first.value);
      const second = first.done ? first : await chunks.next();
      // Header and first chunk in one statement; nothing when the key is shared already.
      const firstRow = (db: Queryable) =>
        this.db.q(
          db,
          `WITH h AS (INSERT INTO message_bytes (key, size, sha256, stored_at) VALUES ($1, $2, $3, $4)
                      ON CONFLICT (key) DO NOTHING RETURNING key)
           INSERT INTO message_chunks (key, seq, data) SELECT key, 0, $5 FROM h RETURNING key`,
          [key, size, sha256, this.now(), head],
        );
      if (second.done) {
        if (total !== size || hash.digest('hex') !== sha256) throw this.mismatch(key);
        await firstRow(this.db.pool);
        return;
      }
      await this.db.tx(async (c) => {
        if ((await firstRow(c)).length === 0) return; // shared already: a retry deferred again
        let seq = 1;
        for (let next: IteratorResult<Buffer> = second; !next.done; next = await chunks.next()) {
          await this.db.q(c, 'INSERT INTO message_chunks (key, seq, data) VALUES ($1, $2, $3)', [
            key,
            seq++,
            take(next.value),
          ]);
        }
        if (total !== size || hash.digest('hex') !== sha256) throw this.mismatch(key); // rolled back
      });
    });
  }

  private mismatch(key: string): PostboteError {
    return new PostboteError('SPOOL', `spool file ${key} does not match its record: not shared`, {
      temporary: false,
      hint: 'the local copy is damaged; the message is kept where it is',
    });
  }

  private async has(key: string): Promise<boolean> {
    return (await this.db.q(this.db.pool, 'SELECT 1 FROM message_bytes WHERE key = $1', [key])).length > 0;
  }

  /**
   * Without a transaction: chunks never change once committed. Deleted meanwhile (another instance
   * delivered the message), the read comes out short and materialise() keeps nothing.
   */
  async fetchInto(key: string, spool: MaterialiseTarget, expect?: BytesExpectation): Promise<boolean> {
    return this.slots.run(async () => {
      const [first] = await this.db.q<{ size: number; sha256: string; data: Buffer }>(
        this.db.pool,
        `SELECT b.size, b.sha256, c.data FROM message_bytes b
           JOIN message_chunks c ON c.key = b.key AND c.seq = 0 WHERE b.key = $1`,
        [key],
      );
      if (!first) return false;
      if (expect && (first.size !== expect.size || first.sha256 !== expect.sha256)) return false;
      const deadline = this.deadline(first.size);
      const read = async function* (self: PgSharedBytes): AsyncGenerator<Buffer> {
        yield first.data;
        let got = first.data.length;
        for (let seq = 1; got < first.size; seq++) {
          self.checkDeadline(deadline, key);
          const [row] = await self.readChunk(key, seq);
          if (!row || row.data.length === 0) return; // short: materialise() keeps nothing
          got += row.data.length;
          yield row.data;
        }
      };
      return spool.materialise(key, { size: first.size, sha256: first.sha256 }, read(this));
    });
  }

  /**
   * One chunk. As text (hex, twice the bytes on the wire, decoded natively): pg 8's binary results
   * decode each field as a UTF-8 string first, which mangles bytes that are not UTF-8.
   */
  private readChunk(key: string, seq: number): Promise<Array<{ data: Buffer }>> {
    return this.db.q<{ data: Buffer }>(
      this.db.pool,
      'SELECT data FROM message_chunks WHERE key = $1 AND seq = $2',
      [key, seq],
    );
  }

  async remove(key: string): Promise<void> {
    await this.db.q(this.db.pool, 'DELETE FROM message_bytes WHERE key = $1', [key]);
  }

  /** Keys stored (complete), for tests and the operator's checks. */
  async keys(): Promise<string[]> {
    const rows = await this.db.q<{ key: string }>(this.db.pool, 'SELECT key FROM message_bytes ORDER BY key');
    return rows.map((r) => r.key);
  }

  /**
   * Removes copies no record names: a put whose record then lost a race (changed by another writer
   * before its commit, so the trigger ran before the copy existed). Only older ones: a put in hand
   * commits its copy a moment before its record. Returns how many went.
   */
  async sweepOrphans(): Promise<number> {
    const rows = await this.db.q(
      this.db.pool,
      `DELETE FROM message_bytes b WHERE b.stored_at < $1
         AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.spool_key = b.key) RETURNING key`,
      [this.now() - ORPHAN_AGE_MS],
    );
    return rows.length;
  }

  /**
   * Copies what this spool holds of records that outlive a pass but have no shared copy yet: mail
   * deferred or quarantined before migration 6, or whose copy failed. Run at start; returns how many.
   */
  async shareLocal(spool: Spool): Promise<number> {
    const rows = await this.db.q<{ spool_key: string; size: number; sha256: string }>(
      this.db.pool,
      `SELECT spool_key, size, sha256 FROM messages m
        WHERE spool_key IS NOT NULL AND (state IN ('deferred','quarantined') OR source_removed_at IS NOT NULL)
          AND state NOT IN ('delivered','deleted','duplicate')
          AND NOT EXISTS (SELECT 1 FROM message_bytes b WHERE b.key = m.spool_key)`,
    );
    let shared = 0;
    for (const r of rows) {
      // Only an intact local file: another instance's records, or a damaged file, are not this one's to copy.
      if (!(await spool.intact(r.spool_key, r.size, r.sha256))) continue;
      await this.put(r.spool_key, r.size, r.sha256, () => spool.openLocal(r.spool_key));
      shared++;
    }
    return shared;
  }

  private deadline(size: number): number {
    return this.now() + TRANSFER_BASE_MS + Math.ceil(size / CHUNK_SIZE) * TRANSFER_MS_PER_CHUNK;
  }

  private checkDeadline(deadline: number, key: string): void {
    if (this.now() <= deadline) return;
    throw new PostboteError('STORE', `copying message bytes ${key} through PostgreSQL took too long`, {
      temporary: true,
      where: `postgres ${this.db.where}`,
      hint: 'check the database server’s load and the network to it',
    });
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/** Re-cuts a byte stream into pieces of exactly `size` (the last one shorter), one piece held at a time. */
export async function* rechunk(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let held = 0;
  for await (const data of source) {
    let chunk = data;
    while (held + chunk.length >= size) {
      const take = size - held;
      parts.push(chunk.subarray(0, take));
      yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
      chunk = chunk.subarray(take);
      parts = [];
      held = 0;
    }
    if (chunk.length > 0) {
      parts.push(chunk);
      held += chunk.length;
    }
  }
  if (held > 0) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, held);
}
