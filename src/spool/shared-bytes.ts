// Bytes every instance can reach: the tier behind the local spool when several instances share one
// PostgreSQL state. Only what outlives a pass (deferred, quarantined) is copied there, before that
// state is committed and before any DELE; a spool that lacks a file materialises it from here.
// A folder state (SQLite) has none: its one process is the only reader of its spool.
import type { Readable } from 'node:stream';

/** What a shared copy must be to be used: the record's size and SHA-256. */
export interface BytesExpectation {
  size: number;
  sha256: string;
}

/** Where Spool.materialise() writes what fetchInto() reads (implemented by Spool). */
export interface MaterialiseTarget {
  /** Streams `chunks` into the spool as `key`; false (nothing kept) when they do not match `expect`. */
  materialise(key: string, expect: BytesExpectation, chunks: AsyncIterable<Buffer>): Promise<boolean>;
}

export interface SharedBytes {
  /**
   * Copies the bytes read from `source()` into the shared store under `key`, streamed, checked against
   * `size` and `sha256` (a damaged local file is refused, not replicated). Idempotent: a key already
   * stored is not read again. Resolves once the copy is committed (durable, readable by every instance).
   */
  put(key: string, size: number, sha256: string, source: () => Readable): Promise<void>;
  /**
   * Materialises the shared copy of `key` into `spool`: false when there is none, when it is not what
   * `expect` says, or when its bytes do not match its own digest (corruption: never used).
   */
  fetchInto(key: string, spool: MaterialiseTarget, expect?: BytesExpectation): Promise<boolean>;
  /** Drops the shared copy (records that no longer need it drop theirs by themselves: see migration 6). */
  remove(key: string): Promise<void>;
  close(): Promise<void>;
}
