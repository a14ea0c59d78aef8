// The one timer of a Pop3Connection: the command at the head of its queue must see its status line,
// its body's next chunk and the end of its reply in time, or the connection fails with the reason.
import { PostboteError } from '../errors.js';
import { type ConnectionOptions, describe, type Pending } from './connection-types.js';

/** What the deadline ends when it passes (the connection, which fails everything queued). */
interface Failing {
  fail(err: PostboteError): void;
}

export class ReplyDeadline {
  private timer: NodeJS.Timeout | undefined;
  /** What the timer stands for: the command at the head when it was armed, why, and its delay. */
  private timerHead: Pending | undefined;
  private timerKind: 'status' | 'idle' | 'deadline' = 'status';
  private timerMs = -1;

  constructor(
    private readonly opts: ConnectionOptions,
    private readonly owner: Failing,
  ) {}

  /**
   * One timer for the head of the queue, the earliest of: its status line's timeout (not reset by
   * trickling bytes), the idle timeout while a body streams (reset by every chunk), and the reply's
   * overall deadline (base plus size at the minimum rate), so a reply that trickles cannot outlive
   * it. No clock runs while we hold the socket paused: a slow consumer is not the server's fault.
   * `head` is undefined when nothing is queued or the connection is closed.
   */
  arm(head: Pending | undefined, paused: boolean): void {
    if (!head) {
      this.clear();
      return;
    }
    const now = Date.now();
    if (head.since !== undefined) head.spent += now - head.since;
    head.since = undefined;
    if (paused) {
      this.clear();
      return;
    }
    head.since = now;
    head.statusBy ??= now + head.timeout;
    // Called for every chunk of a body: no closure or message text is made here (the message is
    // written only if the timer fires), and an unchanged delay (the idle timeout, as a body streams)
    // re-arms the same timer.
    let ms = this.allowed(head) - head.spent;
    let kind: 'status' | 'idle' | 'deadline' = 'deadline';
    const phaseMs = head.phase === 'status' ? head.statusBy - now : this.opts.idleTimeout;
    if (phaseMs <= ms) {
      ms = phaseMs;
      kind = head.phase === 'status' ? 'status' : 'idle';
    }
    ms = Math.max(0, ms);
    this.timerHead = head;
    this.timerKind = kind;
    if (this.timer && this.timerMs === ms) {
      this.timer.refresh();
      return;
    }
    this.clear();
    this.timerMs = ms;
    this.timer = setTimeout(this.onTimer, ms);
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    const head = this.timerHead;
    if (!head) return;
    const cmd = describe(head);
    const what =
      this.timerKind === 'status'
        ? `no reply to ${cmd} within ${head.timeout} ms`
        : this.timerKind === 'idle'
          ? `server silent for ${this.opts.idleTimeout} ms in the middle of the reply to ${cmd}`
          : `the reply to ${cmd} did not complete within its deadline of ${Math.round(this.allowed(head))} ms (${head.accepted} octets received)`;
    this.expire(head, what);
  };

  /** The head's deadline in milliseconds: its base, plus the time its size takes at the minimum rate. */
  private allowed(head: Pending): number {
    const octets = Math.max(head.expectedSize ?? 0, head.accepted);
    return (head.deadline ?? head.timeout) + (octets * 1000) / this.opts.minRate;
  }

  private expire(head: Pending, what: string): void {
    const where = this.opts.where;
    const command = describe(head);
    if (head.phase === 'body' && head.watch?.missingCrlfAtEnd()) {
      // The body stopped right after "X.\r\n" at its listed size: that was meant as the end, but the
      // last line lacked its CRLF, so no terminator will ever come. Waiting again will not help.
      const err = new PostboteError(
        'POP3_UNREADABLE',
        `the reply to ${command} never ended: the message's last line has no line break before the final dot (${head.watch.received} octets received, ${head.expectedSize} listed), so its end cannot be found`,
        {
          temporary: false,
          where,
          command,
          hint: 'the provider holds a damaged copy of this message; it stays on the server: read or delete it by webmail, or ask the provider to repair it',
        },
      );
      this.owner.fail(err);
      return;
    }
    this.owner.fail(new PostboteError('TIMEOUT', what, { temporary: true, where, command }));
  }
}
