// Per-remote-IP rate limits (connections and messages a minute) as token buckets: a burst up to the
// limit is fine, a sustained flood is refused with a 4xx so a legitimate client simply retries later.

// Buckets that are full again carry no information; past this many keys they are dropped.
const PRUNE_AT = 10_000;
const WINDOW_MS = 60_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one token for `key`; false when the key is over its rate. */
  take(key: string): boolean {
    const now = this.now();
    const bucket = this.refill(this.buckets.get(key), now);
    if (bucket.tokens < 1) {
      this.buckets.set(key, bucket);
      return false;
    }
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    if (this.buckets.size > PRUNE_AT) this.prune(now);
    return true;
  }

  private refill(bucket: Bucket | undefined, now: number): Bucket {
    if (!bucket) return { tokens: this.perMinute, at: now };
    const earned = ((now - bucket.at) * this.perMinute) / WINDOW_MS;
    return { tokens: Math.min(this.perMinute, bucket.tokens + earned), at: now };
  }

  private prune(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (this.refill(bucket, now).tokens >= this.perMinute) this.buckets.delete(key);
    }
  }
}
