// Failed AUTH per remote address: past `lockoutAfter` failures an address is locked out for
// `lockoutMs` after its last one (like the web admin's login lockout). The table is bounded, so a
// flood of addresses cannot grow it without end.

// 10,000 addresses: far more than a connector's remoteIpRanges hold in practice, a few hundred KB.
export const MAX_LOCKOUT_ENTRIES = 10_000;

interface Entry {
  failures: number;
  last: number;
}

export class AuthLockout {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly lockoutAfter: number,
    private readonly lockoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  isLocked(ip: string): boolean {
    const entry = this.live(ip, this.now());
    return entry !== undefined && entry.failures >= this.lockoutAfter;
  }

  /** Records a failure; `locked` is true for the one failure that locks the address out. */
  fail(ip: string): { failures: number; locked: boolean } {
    const now = this.now();
    const entry = this.live(ip, now) ?? { failures: 0, last: now };
    entry.failures += 1;
    entry.last = now;
    // Re-inserted so the map's order is the order of last failure, oldest first.
    this.entries.delete(ip);
    this.entries.set(ip, entry);
    if (this.entries.size > MAX_LOCKOUT_ENTRIES) this.prune(now);
    return { failures: entry.failures, locked: entry.failures === this.lockoutAfter };
  }

  /** A correct password clears the address's record (Dovecot resets its auth penalty the same way). */
  succeed(ip: string): void {
    this.entries.delete(ip);
  }

  get size(): number {
    return this.entries.size;
  }

  private live(ip: string, now: number): Entry | undefined {
    const entry = this.entries.get(ip);
    if (entry && now - entry.last >= this.lockoutMs) {
      this.entries.delete(ip);
      return undefined;
    }
    return entry;
  }

  /**
   * The map is in order of last failure and every entry lives equally long, so the expired ones are
   * its head: they go, then the oldest while the table is still over its bound. O(entries removed).
   */
  private prune(now: number): void {
    for (const [ip, entry] of this.entries) {
      if (now - entry.last < this.lockoutMs && this.entries.size <= MAX_LOCKOUT_ENTRIES) break;
      this.entries.delete(ip);
    }
  }
}
