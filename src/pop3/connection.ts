// One POP3 connection: matches replies to queued commands in order (so several can be in flight,
// RFC 2449 PIPELINING), streams multi-line bodies with backpressure, and turns silence, drops and
// garbage into PostboteErrors. Knows nothing about what the commands mean.
import type { Socket } from 'node:net';
import { PostboteError } from '../errors.js';
import { BodyWatch } from './body-watch.js';
import { type CommandSpec, type ConnectionOptions, describe, type Pending } from './connection-types.js';
import { DotUnstuffer } from './dot-unstuff.js';
import { type Pop3Reply, parseReply, scanLine } from './reply.js';
import { ReplyDeadline } from './reply-deadline.js';

export type { BodySink, CommandSpec, ConnectionOptions } from './connection-types.js';

const EMPTY = Buffer.alloc(0);

export class Pop3Connection {
  private socket: Socket;
  private buf: Buffer = EMPTY;
  private readonly queue: Pending[] = [];
  private paused = false;
  private failure: PostboteError | undefined;
  /** Ended by us after QUIT: the error for a later command, made only if one comes. */
  private ended: (() => PostboteError) | undefined;
  private readonly deadline: ReplyDeadline;

  constructor(
    socket: Socket,
    private readonly opts: ConnectionOptions,
  ) {
    this.socket = socket;
    this.deadline = new ReplyDeadline(opts, this);
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
    this.deadline.clear();
    this.socket.destroy();
  }

  /** Fails everything queued and destroys the socket. Idempotent: the first error wins. */
  fail(err: PostboteError): void {
    if (this.closed) return;
    this.failure = err;
    this.deadline.clear();
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
    const during = head ? ` while waiting for the reply to ${describe(head)}` : '';
    this.fail(
      new PostboteError('CONNECTION_CLOSED', `server closed the connection${during}`, {
        temporary: true,
        where: this.opts.where,
      }),
    );
  };

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
          command: describe(head),
        }),
      );
      return false;
    }
    this.buf = this.buf.subarray(scan.next);
    this.opts.logger.debug({ reply: scan.line }, 'pop3 S:');
    const reply = parseReply(scan.line);
    if (!reply) {
      this.failProtocol(`not a POP3 reply to ${describe(head)}: ${JSON.stringify(scan.line.slice(0, 200))}`);
      return false;
    }
    if (reply.status === '+OK' && head.expectedSize !== undefined && this.inPipeline(head)) {
      const announced = /^(\d+)\s+octets/i.exec(reply.text);
      if (announced && Number(announced[1]) !== head.expectedSize) {
        this.failDesync(
          head,
          `the reply to ${describe(head)} announces ${announced[1]} octets where LIST said ${head.expectedSize}: the server's replies are out of step with the commands`,
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
          `the reply to ${describe(head)} ran past its listed size (${head.expectedSize} octets) into what looks like the next reply (${text}… at octet ${seen.offset}): the server's replies are out of step with the commands`,
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
        command: describe(head),
        hint: 'usually a message on the server whose last line has no line break before the final dot; reading the mailbox one command at a time (without pipelining) isolates it',
      }),
    );
  }

  /** Re-arms the deadline for the head of the queue (see reply-deadline.ts); none once closed. */
  private arm(): void {
    this.deadline.arm(this.closed ? undefined : this.queue[0], this.paused);
  }
}
