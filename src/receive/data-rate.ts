// The minimum data rate in DATA, as Postfix's smtpd_min_data_rate does it: a client starts with a
// credit of time (the idle timeout), the clock spends it, every byte earns 1/rate seconds back, capped
// at the starting credit. Trickling one byte a minute runs it dry; a steady sender never notices.
// Time while the reader has paused the stream (our disk or next hop is slow) is not the client's.
import type { Readable } from 'node:stream';

export class DataRateBudget {
  private credit: number;
  private at: number;
  private paused = false;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly maxCreditMs: number,
    now: number,
  ) {
    this.credit = maxCreditMs;
    this.at = now;
  }

  /** `bytes` arrived at `now`. */
  received(bytes: number, now: number): void {
    this.spend(now);
    this.credit = Math.min(this.maxCreditMs, this.credit + (bytes * 1000) / this.bytesPerSecond);
  }

  pause(now: number): void {
    this.spend(now);
    this.paused = true;
  }

  resume(now: number): void {
    this.spend(now);
    this.paused = false;
  }

  /** Milliseconds of credit left at `now` (Infinity while paused: nothing is owed then). */
  remaining(now: number): number {
    this.spend(now);
    return this.paused ? Number.POSITIVE_INFINITY : this.credit;
  }

  private spend(now: number): void {
    if (!this.paused) this.credit -= now - this.at;
    this.at = now;
  }
}

/**
 * Calls `tooSlow` once when the client falls below `bytesPerSecond` on `stream` (smtp-server's DATA
 * stream); stops watching when the stream ends or closes.
 */
export function watchDataRate(
  stream: Readable,
  bytesPerSecond: number,
  creditMs: number,
  tooSlow: () => void,
): void {
  const budget = new DataRateBudget(bytesPerSecond, creditMs, Date.now());
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const arm = () => {
    clearTimeout(timer);
    if (done) return;
    const left = budget.remaining(Date.now());
    if (left === Number.POSITIVE_INFINITY) return;
    if (left <= 0) {
      stop();
      tooSlow();
      return;
    }
    timer = setTimeout(arm, left);
    timer.unref();
  };
  const stop = () => {
    done = true;
    clearTimeout(timer);
  };
  stream.on('data', (chunk: Buffer) => {
    budget.received(chunk.length, Date.now());
    // Re-arming per chunk is one timer operation; a chunk is up to 64 KiB.
    arm();
  });
  stream.on('pause', () => {
    budget.pause(Date.now());
    arm();
  });
  stream.on('resume', () => {
    budget.resume(Date.now());
    arm();
  });
  stream.once('end', stop);
  stream.once('close', stop);
  arm();
}
