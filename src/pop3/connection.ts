// One POP3 connection: matches replies to queued commands in order (so several can be in flight,
// RFC 2449 PIPELINING), streams multi-line bodies with backpressure, and turns silence, drops and
// garbage into PostboteErrors. Knows nothing about what the commands mean.
import type { Socket } from 'node:net';
import { PostboteError } from '../errors.js';
import type { Logger } from '../log.js';
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
}

interface Pending extends CommandSpec {
  phase: 'status' | 'body';
  unstuffer?: DotUnstuffer;
  discarding: boolean;
  resolve(reply: Pop3Reply): void;
  reject(err: PostboteError): void;
}

export interface ConnectionOptions {
  where: string;
  logger: Logger;
  maxLineLength: number;
  /** Longest silence allowed while a body is streaming and we are not the ones holding it back. */
  idleTimeout: number;
}

const EMPTY = Buffer.alloc(0);

export class Pop3Connection {
  private socket: Socket;
  private buf: Buffer = EMPTY;
  private readonly queue: Pending[] = [];
  private paused = false;
  private failure: PostboteError | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerFor: { head: Pending; phase: Pending['phase'] } | undefined;

  constructor(
    socket: Socket,
    private readonly opts: ConnectionOptions,
  ) {
    this.socket = socket;
    this.attach(socket);
  }

  get closed(): boolean {
    return this.failure !== undefined;
  }

  /** Queues the commands and writes them in a single write (one segment, no per-line round trips). */
  send(specs: CommandSpec[]): Promise<Pop3Reply>[] {
    const failure = this.failure;
    if (failure) return specs.map(() => Promise.reject(failure));
    let text = '';
    const promises = specs.map(
      (spec) =>
        new Promise<Pop3Reply>((resolve, reject) => {
          this.queue.push({ ...spec, phase: 'status', discarding: false, resolve, reject });
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

  /** Called by a body's consumer when it wants more data again. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (!this.failure) this.socket.resume();
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

  /** Fails everything queued and destroys the socket. Idempotent: the first error wins. */
  fail(err: PostboteError): void {
    if (this.failure) return;
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
    while (!this.failure && this.buf.length > 0) {
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
    if (this.paused && !this.failure) this.socket.pause();
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
    if (reply.status === '+OK' && head.body) {
      head.phase = 'body';
      head.unstuffer = new DotUnstuffer();
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
      if (head.discarding) break;
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

  /**
   * One timer for the head of the queue: the command's timeout until its status line is complete
   * (not reset by trickling bytes), then the idle timeout, reset by every chunk of body. No timer
   * while we hold the socket paused: a slow consumer is not the server's fault.
   */
  private arm(): void {
    const head = this.queue[0];
    if (!head || this.paused || this.failure) {
      this.clearTimer();
      return;
    }
    const t = this.timerFor;
    if (head.phase === 'status' && t?.head === head && t.phase === 'status') return;
    this.clearTimer();
    const ms = head.phase === 'status' ? head.timeout : this.opts.idleTimeout;
    const what =
      head.phase === 'status'
        ? `no reply to ${this.describe(head)} within ${ms} ms`
        : `server silent for ${ms} ms in the middle of the reply to ${this.describe(head)}`;
    this.timerFor = { head, phase: head.phase };
    this.timer = setTimeout(() => {
      this.fail(new PostboteError('TIMEOUT', what, { temporary: true, where: this.opts.where }));
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerFor = undefined;
  }
}
