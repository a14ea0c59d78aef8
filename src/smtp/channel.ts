// The wire under one SMTP/LMTP session: corked command writes, a queue of parsed replies with
// per-read deadlines, raw body writes with backpressure, and the switch to TLS for STARTTLS.
// Replies are matched to commands by order alone, so the channel counts the replies it is owed and
// treats any other as the server's fault: an extra 250 taken for a later command could lose a message.
import type net from 'node:net';
import tls from 'node:tls';
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

export class Channel {
  private socket: net.Socket;
  /** Received bytes not yet part of a complete reply, kept as chunks until a line end arrives. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes after the last line end in `chunks`: the line still coming. */
  private openLine = 0;
  private readonly replies: SmtpReply[] = [];
  /** Replies the server owes: one per command line, the greeting, and what the end of data earns. */
  private owed = 1;
  private stray: SmtpReply | undefined;
  private waiter: Waiter | undefined;
  private failure: PostboteError | undefined;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onError = (err: Error) => this.fail(toPostboteError(err, this.where));
  private readonly onClose = () =>
    this.fail(new PostboteError('CONNECTION_CLOSED', 'the server closed the connection', this.opts()));

  constructor(
    socket: net.Socket,
    private readonly log: Logger,
    readonly where: string,
  ) {
    this.socket = socket;
    this.attach(socket);
  }

  get closed(): boolean {
    return this.failure !== undefined;
  }

  get secure(): boolean {
    return this.socket instanceof tls.TLSSocket && this.socket.encrypted;
  }

  /** The source address the server sees (what a receive connector's RemoteIPRanges must allow). */
  get localAddress(): string {
    return this.socket.localAddress ?? 'unknown';
  }

  /** Why the channel is closed, for callers that must report it. */
  get error(): PostboteError | undefined {
    return this.failure;
  }

  /** Writes command lines in one segment; `shown` replaces them in the log (AUTH secrets). */
  send(lines: string[], shown: string[] = lines): void {
    this.assertOpen();
    this.owed += lines.length;
    for (const line of shown) this.log.debug(`C: ${line}`);
    this.socket.cork();
    for (const line of lines) this.socket.write(`${line}\r\n`);
    this.socket.uncork();
  }

  /** The next raw write ends the data: it earns `replies` (1 for SMTP, one per recipient for LMTP). */
  expect(replies: number): void {
    this.owed += replies;
  }

  /** Raw bytes (the message body); false means wait for drained() before writing more. */
  write(chunk: Buffer): boolean {
    this.assertOpen();
    return this.socket.write(chunk);
  }

  /** Several pieces of the body in one segment (one writev); false as for write(). */
  writeMany(chunks: Buffer[]): boolean {
    this.assertOpen();
    if (chunks.length === 1) return this.socket.write(chunks[0]!);
    this.socket.cork();
    let ok = true;
    for (const chunk of chunks) ok = this.socket.write(chunk);
    this.socket.uncork();
    return ok;
  }

  /** Waits for 'drain'; after `timeoutMs` the channel fails with TIMEOUT and `why` (default: stopped reading). */
  drained(timeoutMs: number, why?: string): Promise<void> {
    this.assertOpen();
    return new Promise((resolve, reject) => {
      const done = (err?: PostboteError) => {
        clearTimeout(timer);
        this.socket.off('drain', onDrain);
        this.socket.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(this.failure ?? this.closedError());
      const timer = setTimeout(() => {
        const err = this.timeoutError(
          why ?? `the server stopped reading the message for ${timeoutMs / 1000} s`,
          'DATA',
        );
        this.fail(err);
        done(err);
      }, timeoutMs);
      this.socket.on('drain', onDrain);
      this.socket.on('close', onClose);
    });
  }

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

  /** Sends one command and reads its reply (421 closes). */
  command(line: string, timeoutMs: number, shown = line): Promise<SmtpReply> {
    this.send([line], [shown]);
    return this.readOpen(timeoutMs, shown);
  }

  /**
   * Wraps the socket in TLS after the server's 220 to STARTTLS. Anything already received would have
   * been sent in clear before the handshake (RFC 3207 6; the "STARTTLS command injection" attacks),
   * so it is refused rather than processed.
   */
  async startTls(options: tls.ConnectionOptions, timeoutMs: number, mapError: (err: Error) => PostboteError) {
    this.assertOpen();
    if (this.buffered > 0 || this.replies.length > 0) {
      const err = new PostboteError('PROTOCOL', 'the server sent data after its STARTTLS reply', this.opts());
      this.fail(err);
      throw err;
    }
    const plain = this.socket;
    this.detach(plain);
    // The TLS socket reports failures of the socket under it; this only keeps an 'error' with no
    // listener from crashing the process.
    plain.on('error', () => {});
    const secure = tls.connect({ ...options, socket: plain });
    this.socket = secure;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(this.timeoutError(`TLS handshake did not finish within ${timeoutMs / 1000} s`, 'STARTTLS'));
        reject(this.failure);
      }, timeoutMs);
      // Errors during the handshake are TLS failures; after it, the channel's own handler reports them.
      const onHandshakeError = (err: Error) => {
        clearTimeout(timer);
        this.fail(mapError(err));
        reject(this.failure);
      };
      secure.once('error', onHandshakeError);
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        secure.off('error', onHandshakeError);
        resolve();
      });
      this.attach(secure);
    });
  }

  /** Closes the channel; later reads reject with `reason` (default: closed by Postbote). */
  fail(reason: PostboteError): void {
    if (this.failure) return;
    this.failure = reason;
    this.log.debug({ code: reason.code }, `connection closed: ${reason.message}`);
    this.socket.destroy();
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      clearTimeout(waiter.timer);
      waiter.reject(reason);
    }
  }

  close(): void {
    this.fail(this.closedError('the connection was closed by Postbote'));
  }

  private receive(chunk: Buffer): void {
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

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  private detach(socket: net.Socket): void {
    socket.off('data', this.onData);
    socket.off('error', this.onError);
    socket.off('close', this.onClose);
  }

  private assertOpen(): void {
    if (this.failure) throw this.failure;
  }

  private closedError(message = 'the server closed the connection'): PostboteError {
    return new PostboteError('CONNECTION_CLOSED', message, this.opts());
  }

  private timeoutError(message: string, command?: string): PostboteError {
    return new PostboteError('TIMEOUT', message, { ...this.opts(), command });
  }

  private opts(): { temporary: true; where: string } {
    return { temporary: true, where: this.where };
  }
}
