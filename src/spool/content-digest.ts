// A message's content digest for duplicate suppression: SHA-256 of the message without the header
// fields its path added, taken while it streams into the spool (no second read, no copy held). Two
// copies of one message that reached the mailbox by two paths (an alias and a forward, two MX hosts)
// differ only in such fields and get the same digest; two different messages that reuse a Message-ID
// (newsletters, shop and ticket systems) differ in their own fields or body and do not.
import { createHash, type Hash } from 'node:crypto';

/**
 * Fields a relay path adds or rewrites, never the author: trace and envelope records (RFC 5321 4.4,
 * the LDA's Delivered-To/X-Original-To and the catch-all envelope headers), each receiving hop's
 * authentication verdicts and seals (Authentication-Results, Received-SPF, ARC-*), a forwarder's own
 * DKIM-Signature (the author's is the same in every copy and signs fields and body hashed anyway, so
 * leaving all of them out loses nothing), spam and virus filter stamps (they differ per path and per
 * run), and the status fields a mailbox store writes into each copy (mbox Status, X-UID, …).
 * Resent-* fields stay: they record a person's deliberate re-sending, which is a new message.
 */
const TRACE_FIELDS = new Set([
  'received',
  'return-path',
  'delivered-to',
  'x-delivered-to',
  'x-original-to',
  'envelope-to',
  'x-envelope-to',
  'x-envelope-from',
  'x-rcpt-to',
  'x-received',
  'x-forwarded-to',
  'x-forwarded-for',
  'authentication-results',
  'x-original-authentication-results',
  'received-spf',
  'dkim-signature',
  'status',
  'x-status',
  'x-uid',
  'x-uidl',
  'x-keywords',
  'x-mozilla-status',
  'x-mozilla-status2',
  'content-length',
  'lines',
]);
/** Field families of the same kind: ARC seals per hop, filters' stamps, Exchange Online's per-hop fields. */
const TRACE_PREFIXES = [
  'arc-',
  'x-spam-',
  'x-virus-',
  'x-ms-exchange-',
  'x-microsoft-antispam',
  'x-forefront-',
];

export function isTraceField(name: string): boolean {
  const n = name.trim().toLowerCase();
  return TRACE_FIELDS.has(n) || TRACE_PREFIXES.some((p) => n.startsWith(p));
}

/** A field name longer than this is not one (RFC 5322 lines are at most 998); the line counts as content. */
const MAX_NAME_BYTES = 998;
const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;

/** Fed with every chunk of a message in order; digest() when the message is complete. */
export class ContentDigest {
  private readonly hash: Hash = createHash('sha256');
  private inBody = false;
  /** The current header line's first bytes while its field is not known yet (up to the colon). */
  private lineStart: number[] = [];
  /** Whether the current line's field is known, and whether it is a trace field (not hashed). */
  private decided = false;
  private skip = false;
  /** The last field's verdict, which its continuation lines share. */
  private fieldSkipped = false;

  push(chunk: Buffer): void {
    if (this.inBody) {
      this.hash.update(chunk);
      return;
    }
    let run = 0; // where this chunk's bytes of a decided, kept line start
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (this.decided) {
        if (b === LF) {
          if (!this.skip) this.hash.update(chunk.subarray(run, i + 1));
          this.decided = false;
        }
        continue;
      }
      if (this.lineStart.length === 0 && (b === 0x20 || b === 0x09)) {
        this.decided = true; // a continuation line: part of the field before
        this.skip = this.fieldSkipped;
        run = i;
      } else if (b === LF) {
        // A line without a colon: the blank line ending the header block, or stray text kept as content.
        const blank =
          this.lineStart.length === 0 || (this.lineStart.length === 1 && this.lineStart[0] === CR);
        this.hash.update(Buffer.from(this.lineStart));
        this.lineStart = [];
        this.fieldSkipped = false;
        if (blank) {
          this.inBody = true;
          this.hash.update(chunk.subarray(i));
          return;
        }
        this.hash.update(chunk.subarray(i, i + 1));
      } else {
        this.lineStart.push(b);
        if (b === COLON || this.lineStart.length > MAX_NAME_BYTES) {
          const name = b === COLON ? Buffer.from(this.lineStart.slice(0, -1)).toString('latin1') : '';
          this.decided = true;
          this.skip = this.fieldSkipped = name !== '' && isTraceField(name);
          if (!this.skip) this.hash.update(Buffer.from(this.lineStart));
          this.lineStart = [];
          run = i + 1;
        }
      }
    }
    if (this.decided && !this.skip && run < chunk.length) this.hash.update(chunk.subarray(run));
  }

  /** Hex digest, 128 bits: a fingerprint, not a signature. */
  digest(): string {
    if (this.lineStart.length > 0) this.hash.update(Buffer.from(this.lineStart));
    this.lineStart = [];
    return this.hash.digest('hex').slice(0, 32);
  }
}
