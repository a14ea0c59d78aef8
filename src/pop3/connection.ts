// One POP3 connection: matches replies to queued commands in order (so several can be in flight,
// RFC 2449 PIPELINING), streams multi-line bodies with backpressure, and turns silence, drops and
// garbage into PostboteErrors. Knows nothing about what the commands mean.
import type { Socket } from 'node:net';
import { PostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import { BodyWatch } from './body-watch.js';
import { DotUnstuffer } from './dot-unstuff.js';
import { type Pop3Reply, parseReply, scanLine } from './reply.js';

/** Receives a multi-line body after "+OK". 'pause' stops reading until resume(); 'discard' drops the rest. */
export interface BodySink {
  write(chunk: Buffer): 'more' | 'pause' | 'discard';
  end(): void;
  fail(err: PostboteError): void;
}

export interface CommandSpec {
  /** The command line without CRLF; absent for the greeting, which is a reply to connecting. */
  line?: string;
  /** How the command appears in logs and errors (secrets masked). */
  display?: string;
  /** Present when +OK starts a multi-line body: the body goes there. */
  body?: BodySink;
  /** Milliseconds until the status line must have arrived. */
  timeout: number;
  /**
   * Milliseconds the whole reply (status and body) may take from when it is next in line, plus one
   * second per `minRate` octets of body (or of `expectedSize`, if more). Default: `timeout`.
   */
  deadline?: number;
  /** The size LIST gave for a RETR: the body is watched for running past it (see body-watch.ts). */
  expectedSize?: number;
}

interface Pending extends CommandSpec {
  phase: 'status' | 'body';
  unstuffer?: DotUnstuffer;
  watch?: BodyWatch;
  discarding: boolean;
  /** Written while earlier commands were unanswered: its reply may be mistaken for theirs. */
  pipelined: boolean;
  /** Body octets taken by the sink (discarded ones do not extend the deadline). */
  accepted: number;
  /** Milliseconds counted against the deadline so far, and since when the clock runs (unpaused). */
  spent: number;
  since?: number;
  statusBy?: number;
  resolve(reply: Pop3Reply): void;
  reject(err: PostboteError): void;
}

export interface ConnectionOptions {
  where: string;
  logger: Logger;
  maxLineLength: number;
  /** Longest silence allowed while a body is streaming and we are not the ones holding it back. */
  idleTimeout: number;
  /** Octets per second a reply's deadline grants beyond its base (MIN_TRANSFER_RATE). */
  minRate: number;
}

const EMPTY = Buffer.alloc(0);

export class Pop3Connection {
  private socket: Socket;
  private buf: Buffer = EMPTY;
  private readonly queue: Pending[] = [];
  private paused = false;
  private failure: PostboteError | undefined;
  /** Ended by us after QUIT: the error for a later command, made only if one comes. */
  private ended: (() => PostboteError) | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** What the timer stands for: the command at the head when it was armed, why, and its delay. */
  private timerHead: Pending | undefined;
  private timerKind: 'status' | 'idle' | 'deadline' = 'status';
  private timerMs = -1;

  constructor(
    socket: Socket,
    private readonly opts: ConnectionOptions,
  ) {
    this.socket = socket;
    this.attach(socket);
  }

  get closed(): boolean {
    return this.failure !== undefined || this.ended !== undefined;
  }

  /** Queues the commands and writes them in a single write (one segment, no per-line round trips). */
  send(specs: CommandSpec[]): Promise<Pop3Reply>[] {
    if (!this.failure && this.ended) this.failure = this.ended();
    const failure = this.failure;
    if (failure) return specs.map(() => Promise.reject(failure));
    let text = '';
    const promises = specs.map(
      (spec) =>
        new Promise<Pop3Reply>((resolve, reject) => {
          const pipelined = this.queue.length > 0;
          this.queue.push({
            ...spec,
            phase: 'status',
            discarding: false,
            pipelined,
            accepted: 0,
            spent: 0,
            resolve,
            reject,
          });
        }),
    );
    for (const spec of specs) {
      if (spec.line === undefined) continue;
      this.opts.logger.debug({ cmd: spec.display ?? spec.line }, 'pop3 C:');
      text += `${spec.line}\r\n`;
    }
    if (text) this.socket.write(text);
    this.arm();
    return promises;
  }

  command(spec: CommandSpec): Promise<Pop3Reply> {
    return this.send([spec])[0]!;
  }

  /**
   * Runs `write` with the socket corked: every command it sends synchronously (an async function's
   * first steps too) leaves in one write, one TLS record, one segment.
   */
  batch<T>(write: () => T): T {
    this.socket.cork();
    try {
      return write();
    } finally {
      this.socket.uncork();
    }
  }

  /** Called by a body's consumer when it wants more data again. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.closed) this.socket.resume();
    this.arm();
  }

  /** Hands the socket over for a TLS upgrade (STLS). Nothing may be queued or buffered. */
  detach(): Socket {
    if (this.queue.length > 0 || this.buf.length > 0) {
      const err = new PostboteError('PROTOCOL', 'server sent data after STLS before the TLS handshake', {
        temporary: true,
        where: this.opts.where,
        hint: 'something between here and the server may be tampering with the connection',
      });
      this.fail(err);
      throw err;
    }
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('error', this.onError);
    this.socket.removeListener('close', this.onClose);
    return this.socket;
  }

  /** Takes over a (TLS) socket after detach(). */
  attach(socket: Socket): void {
    this.socket = socket;
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /**
   * Ends a connection whose session is over (QUIT answered): the socket is destroyed, and the error a
   * later command gets is made only then. A normal poll builds no error object (its stack trace costs).
   * Anything still queued fails at once, as with fail().
   */
  end(why: () => PostboteError): void {
    if (this.closed) return;
    if (this.queue.length > 0) {
      this.fail(why());
      return;
    }
    this.ended = why;
    this.clearTimer();
    this.socket.destroy();
  }

  /** Fails everything queued and destroys the socket. Idempotent: the first error wins. */
  fail(err: PostboteError): void {
    if (this.closed) return;
    this.failure = err;
    this.clearTimer();
    for (const p of this.queue.splice(0)) {
      if (p.phase === 'body' && !p.discarding) p.body?.fail(err);
      p.reject(err);
    }
    this.socket.destroy();
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    this.process();
  };

  private readonly onError = (err: NodeJS.ErrnoException): void => {
    // After fail() or end() (QUIT answered, or aborted) the socket's last events change nothing: no
    // error object (a stack trace each) for them.
    if (this.closed) return;
    const reset = err.code === 'ECONNRESET' || err.code === 'EPIPE';
    this.fail(
      new PostboteError('CONNECTION_CLOSED', reset ? 'connection reset by the server' : err.message, {
        temporary: true,
        where: this.opts.where,
        cause: err,
      }),
    );
  };

  private readonly onClose = (): void => {
    if (this.closed) return;
    const head = this.queue[0];
    const during = head ? ` while waiting for the reply to ${this.describe(head)}` : '';
    this.fail(
      new PostboteError('CONNECTION_CLOSED', `server closed the connection${during}`, {
        temporary: true,
        where: this.opts.where,
      }),
    );
  };

  private describe(p: Pending): string {
    return p.display ?? p.line ?? 'the greeting';
  }

  private process(): void {
    while (!this.closed && this.buf.length > 0) {
      const head = this.queue[0];
      if (!head) {
        this.failProtocol(
          `unexpected data from the server: ${JSON.stringify(this.buf.toString('latin1', 0, 80))}`,
        );
        return;
      }
      if (head.phase === 'status') {
        if (!this.readStatus(head)) break;
      } else {
        this.readBody(head);
      }
    }
    if (this.paused && !this.closed) this.socket.pause();
    this.arm();
  }

  /** Reads one status line for `head`; false when it has not fully arrived yet. */
  private readStatus(head: Pending): boolean {
    const scan = scanLine(this.buf, 0, this.opts.maxLineLength);
    if (scan.kind === 'need-more') return false;
    if (scan.kind === 'too-long') {
      this.fail(
        new PostboteError('LINE_TOO_LONG', `reply line longer than ${this.opts.maxLineLength} octets`, {
          temporary: true,
          where: this.opts.where,
          command: this.describe(head),
        }),
      );
      return false;
    }
    this.buf = this.buf.subarray(scan.next);
    this.opts.logger.debug({ reply: scan.line }, 'pop3 S:');
    const reply = parseReply(scan.line);
    if (!reply) {
      this.failProtocol(
        `not a POP3 reply to ${this.describe(head)}: ${JSON.stringify(scan.line.slice(0, 200))}`,
      );
      return false;
    }
    if (reply.status === '+OK' && head.expectedSize !== undefined && this.inPipeline(head)) {
      const announced = /^(\d+)\s+octets/i.exec(reply.text);
      if (announced && Number(announced[1]) !== head.expectedSize) {
        this.failDesync(
          head,
          `the reply to ${this.describe(head)} announces ${announced[1]} octets where LIST said ${head.expectedSize}: the server's replies are out of step with the commands`,
        );
        return false;
      }
    }
    if (reply.status === '+OK' && head.body) {
      head.phase = 'body';
      head.unstuffer = new DotUnstuffer();
      if (head.expectedSize !== undefined) head.watch = new BodyWatch(head.expectedSize);
    } else {
      this.queue.shift();
    }
    head.resolve(reply);
    return true;
  }

  private readBody(head: Pending): void {
    const r = head.unstuffer!.push(this.buf);
    this.buf = r.rest ?? EMPTY;
    for (const part of r.out) {
      const seen = head.watch?.push(part);
      // Only a command with others in flight can swallow their replies; alone, "+OK" is message text.
      if (seen && this.inPipeline(head)) {
        const text = JSON.stringify(seen.text.replace(/[\r\n]+$/, ''));
        this.failDesync(
          head,
          `the reply to ${this.describe(head)} ran past its listed size (${head.expectedSize} octets) into what looks like the next reply (${text}… at octet ${seen.offset}): the server's replies are out of step with the commands`,
        );
        return;
      }
      if (head.discarding) continue;
      head.accepted += part.length;
      const verdict = head.body!.write(part);
      if (verdict === 'discard') head.discarding = true;
      else if (verdict === 'pause') this.paused = true;
    }
    if (!r.done) return;
    this.queue.shift();
    if (!head.discarding) head.body!.end();
    // A discarded body was refused by its consumer: keep reading replies to later commands.
    if (head.discarding) this.resume();
  }

  private failProtocol(message: string): void {
    this.fail(new PostboteError('PROTOCOL', message, { temporary: true, where: this.opts.where }));
  }

  private inPipeline(head: Pending): boolean {
    return head.pipelined || this.queue.length > 1;
  }

  /** Fails the connection: after a desynchronisation no later reply can be trusted either. */
  private failDesync(head: Pending, message: string): void {
    this.fail(
      new PostboteError('POP3_DESYNC', message, {
        temporary: true,
        where: this.opts.where,
        command: this.describe(head),
        hint: 'usually a message on the server whose last line has no line break before the final dot; reading the mailbox one command at a time (without pipelining) isolates it',
      }),
    );
  }

  /**
   * One timer for the head of the queue, the earliest of: its status line's timeout (not reset by
   * trickling bytes), the idle timeout while a body streams (reset by every chunk), and the reply's
   * overall deadline (base plus size at the minimum rate), so a reply that trickles cannot outlive
   * it. No clock runs while we hold the socket paused: a slow consumer is not the server's fault.
   */
  private arm(): void {
    const head = this.queue[0];
    if (!head || this.closed) {
      this.clearTimer();
      return;
    }
    const now = Date.now();
    if (head.since !== undefined) head.spent += now - head.since;
    head.since = undefined;
    if (this.paused) {
      this.clearTimer();
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
    this.clearTimer();
    this.timerMs = ms;
    this.timer = setTimeout(this.onTimer, ms);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    const head = this.timerHead;
    if (!head) return;
    const cmd = this.describe(head);
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
    const command = this.describe(head);
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
      this.fail(err);
      return;
    }
    this.fail(new PostboteError('TIMEOUT', what, { temporary: true, where, command }));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
