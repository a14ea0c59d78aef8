// The reading half of a Channel: received bytes gathered into replies, queued or handed to the one
// waiting read under its deadline. Replies are matched to commands by order alone, so this counts the
// replies the server owes and treats any other as the server's fault: an extra 250 taken for a later
// command could lose a message.
import { PostboteError, toPostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import { formatReply, MAX_REPLY_BYTES, MAX_REPLY_LINE, parseReply } from './reply.js';
import type { SmtpReply } from './types.js';

interface Waiter {
  resolve(reply: SmtpReply): void;
  reject(err: PostboteError): void;
  timer: NodeJS.Timeout;
}

const EMPTY = Buffer.alloc(0);
const LF = 0x0a;

/** Base of Channel, which owns the socket: it feeds `receive` and closes everything in `fail`. */
export abstract class ChannelReplies {
  /** Received bytes not yet part of a complete reply, kept as chunks until a line end arrives. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes after the last line end in `chunks`: the line still coming. */
  private openLine = 0;
  private readonly replies: SmtpReply[] = [];
  /** Replies the server owes: one per command line, the greeting, and what the end of data earns. */
  protected owed = 1;
  private stray: SmtpReply | undefined;
  private waiter: Waiter | undefined;
  protected failure: PostboteError | undefined;

  constructor(
    protected readonly log: Logger,
    readonly where: string,
  ) {}

  /** Closes the channel; later reads reject with `reason`. */
  abstract fail(reason: PostboteError): void;

  /** The next reply; rejects with the channel's failure or a TIMEOUT (which closes the channel). */
  read(timeoutMs: number, command: string): Promise<SmtpReply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) throw new Error('Channel.read called while another read is waiting');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(this.timeoutError(`no reply to ${command} within ${timeoutMs / 1000} s`, command));
      }, timeoutMs);
      this.waiter = { resolve, reject, timer };
    });
  }

  /**
   * The first reply that came when none was owed (it closed the channel): a server refusing the data
   * while it is still being sent, or a broken one.
   */
  get unsolicited(): SmtpReply | undefined {
    return this.stray;
  }

  /** Like read(), but a 421 (RFC 5321 3.8: the server is shutting the channel) closes the channel. */
  async readOpen(timeoutMs: number, command: string): Promise<SmtpReply> {
    const reply = await this.read(timeoutMs, command);
    if (reply.code === 421) {
      const err = new PostboteError(
        'CONNECTION_CLOSED',
        `the server closes the connection (421 to ${command})`,
        {
          ...this.opts(),
          reply,
          command,
        },
      );
      this.fail(err);
      throw err;
    }
    return reply;
  }

  protected receive(chunk: Buffer): void {
    if (this.failure) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const lastLf = chunk.lastIndexOf(LF);
    this.openLine = lastLf === -1 ? this.openLine + chunk.length : chunk.length - lastLf - 1;
    // No line ended: nothing to parse yet. Gathering the chunks instead of joining them each time keeps
    // a server that trickles a reply byte by byte from costing a copy of everything per byte.
    if (lastLf === -1 && this.openLine <= MAX_REPLY_LINE && this.buffered <= MAX_REPLY_BYTES) return;
    const pending = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.buffered);
    try {
      let offset = 0;
      for (let parsed = parseReply(pending); parsed; parsed = parseReply(pending, offset)) {
        offset += parsed.consumed;
        this.log.debug(`S: ${formatReply(parsed.reply)}`);
        if (parsed.mixedCodes) {
          this.log.warn(
            { where: this.where, reply: formatReply(parsed.reply) },
            `${this.where} broke the protocol: its lines of one reply carry different codes ` +
              `(${JSON.stringify(pending.toString('utf8', offset - parsed.consumed, offset).slice(0, 300))}); ` +
              `read by the last line, ${parsed.reply.code}, as Postfix does`,
          );
        }
        if (!this.accept(parsed.reply)) return;
      }
      const rest = offset === pending.length ? EMPTY : pending.subarray(offset);
      this.chunks = rest.length === 0 ? [] : [rest];
      this.buffered = rest.length;
    } catch (err) {
      this.fail(toPostboteError(err, this.where));
    }
  }

  /** Hands an owed reply on; a reply nobody is owed closes the channel (false). */
  private accept(reply: SmtpReply): boolean {
    if (this.owed > 0) {
      this.owed--;
      this.deliver(reply);
      return true;
    }
    this.stray = reply;
    const shown = formatReply(reply);
    if (reply.code === 421) {
      // RFC 5321 3.8: a server shutting down (or dropping an idle client) may say so unasked.
      this.fail(
        new PostboteError('CONNECTION_CLOSED', `the server closes the connection (${shown})`, {
          ...this.opts(),
          reply,
        }),
      );
      return false;
    }
    this.log.warn(
      { where: this.where, reply: shown },
      `${this.where} broke the protocol: it sent a reply no command was waiting for ("${shown}"); ` +
        'the connection is closed so that no later command is answered by it',
    );
    this.fail(
      new PostboteError('PROTOCOL', `the server sent a reply no command was waiting for: ${shown}`, {
        ...this.opts(),
        reply,
      }),
    );
    return false;
  }

  private deliver(reply: SmtpReply): void {
    const waiter = this.waiter;
    if (!waiter) {
      this.replies.push(reply);
      return;
    }
    this.waiter = undefined;
    clearTimeout(waiter.timer);
    waiter.resolve(reply);
  }

  /** Anything received and not yet read: after STARTTLS's 220 that was sent in clear. */
  protected hasUnread(): boolean {
    return this.buffered > 0 || this.replies.length > 0;
  }

  /** A read waiting when the channel closes gets the reason. */
  protected rejectWaiter(reason: PostboteError): void {
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      clearTimeout(waiter.timer);
      waiter.reject(reason);
    }
  }

  protected timeoutError(message: string, command?: string): PostboteError {
    return new PostboteError('TIMEOUT', message, { ...this.opts(), command });
  }

  protected opts(): { temporary: true; where: string } {
    return { temporary: true, where: this.where };
  }
}
