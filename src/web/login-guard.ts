// The login lockout: failed logins per user name, so guessing a password is slow. The table is bounded
// whatever clients send: keys are fixed-size digests, entries expire, and names that are not configured
// users share a capped, least-recently-failed-first table that can never push out a real user's lock.
import { createHash } from 'node:crypto';

/** Failed logins for one user name within LOCKOUT_MS before it is locked for LOCKOUT_MS. */
export const MAX_LOGIN_FAILURES = 5;
/** 15 minutes: guessing at 5 tries per 15 minutes takes years; a mistyping admin waits a coffee. */
export const LOCKOUT_MS = 15 * 60_000;
/**
 * Names that are not configured users. At the login rate limit (10 a minute per client) one client
 * fails with at most 150 names before its first ones expire, so this covers several at once; beyond
 * it the oldest go. Each entry is a 64-character digest and three numbers: about 200 KB in all.
 */
export const MAX_TRACKED_NAMES = 1000;

interface Failures {
  count: number;
  lockedUntil: number;
  lastFailure: number;
}

/** Case-insensitive, and the same size for a 3-letter name as for a 60 KB one. */
export function keyOf(user: string): string {
  return createHash('sha256').update(user.toLowerCase()).digest('hex');
}

/**
 * The lockout's operations: in this process's memory (LoginGuard) or, with a PostgreSQL state, in the
 * shared table (src/store/postgres-web.ts), so failures on every instance count towards one lock.
 */
export interface LoginLockout {
  lockedFor(user: string): number | Promise<number>;
  failed(user: string): void | Promise<void>;
  succeeded(user: string): void | Promise<void>;
}

export class LoginGuard implements LoginLockout {
  /** Configured users: never evicted, bounded by the configuration. */
  private readonly users = new Map<string, Failures>();
  /** Any other name, in order of last failure (a Map keeps insertion order): stale and oldest first. */
  private readonly others = new Map<string, Failures>();
  private readonly known: Set<string>;
  private readonly now: () => number;

  /**
   * Unknown names are tracked and locked like real ones, or the lockout itself would tell an attacker
   * which names exist (a sixth try answered "locked" only for those).
   */
  constructor(o: { users: Iterable<string>; now?: () => number }) {
    this.known = new Set([...o.users].map(keyOf));
    this.now = o.now ?? Date.now;
  }

  /** Entries held (for tests and metrics). */
  get size(): number {
    return this.users.size + this.others.size;
  }

  /** Characters of all keys held: shows that the table does not grow with the names sent. */
  keyBytes(): number {
    let n = 0;
    for (const k of [...this.users.keys(), ...this.others.keys()]) n += k.length;
    return n;
  }

  lockedFor(user: string): number {
    const key = keyOf(user);
    const f = this.current(key);
    return f ? Math.max(0, f.lockedUntil - this.now()) : 0;
  }

  failed(user: string): void {
    const key = keyOf(user);
    const now = this.now();
    const f = this.current(key) ?? { count: 0, lockedUntil: 0, lastFailure: now };
    f.count++;
    f.lastFailure = now;
    if (f.count >= MAX_LOGIN_FAILURES) {
      f.lockedUntil = now + LOCKOUT_MS;
      f.count = 0;
    }
    if (this.known.has(key)) {
      this.users.set(key, f);
      return;
    }
    this.others.delete(key); // re-inserted last: the order stays that of the last failure
    this.others.set(key, f);
    this.prune(now);
  }

  succeeded(user: string): void {
    const key = keyOf(user);
    this.users.delete(key);
    this.others.delete(key);
  }

  /** The entry unless it has gone stale (dropped then): a lock ends no later than LOCKOUT_MS after the last failure. */
  private current(key: string): Failures | undefined {
    const table = this.known.has(key) ? this.users : this.others;
    const f = table.get(key);
    if (f && this.now() - f.lastFailure >= LOCKOUT_MS) {
      table.delete(key);
      return undefined;
    }
    return f;
  }

  /** Stale entries sit at the front, in order; then, if still over the cap, the least recent go. */
  private prune(now: number): void {
    for (const [key, f] of this.others) {
      if (now - f.lastFailure < LOCKOUT_MS && this.others.size <= MAX_TRACKED_NAMES) break;
      this.others.delete(key);
    }
  }
}
