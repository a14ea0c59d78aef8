// A one-line progress display for `postbote fetch` on a terminal (stderr, redrawn in place).
import type { PassEvent } from '../connector/mailbox-pass.js';

/** Redraw at most this often: a terminal cannot show faster, and each redraw costs a write. */
const REDRAW_MS = 100;

export class Progress {
  private listed = 0;
  private fresh = 0;
  private done_ = 0;
  private bytes = 0;
  private last = 0;

  /** Anything with write(): stderr, or the control socket's stderr channel. */
  constructor(private readonly out: { write(text: string): unknown }) {}

  event(e: PassEvent): void {
    if (e.type === 'listed') {
      this.listed += e.count;
      this.fresh += e.fresh;
    } else {
      this.done_++;
      this.bytes += e.bytes;
    }
    const now = Date.now();
    if (now - this.last < REDRAW_MS) return;
    this.last = now;
    this.draw();
  }

  private draw(): void {
    const mb = (this.bytes / 1048576).toFixed(1);
    this.out.write(
      `\r\x1b[K${this.done_}/${this.fresh} new messages handled, ${mb} MB (${this.listed} on servers)`,
    );
  }

  done(): void {
    this.draw();
    this.out.write('\n');
  }
}
