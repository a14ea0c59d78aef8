// The wire under one SMTP/LMTP session: corked command writes, raw body writes with backpressure,
// and the switch to TLS for STARTTLS. Reading and counting the replies is its base, ChannelReplies
// (channel-replies.ts), which this class feeds with the socket's data.
import type net from 'node:net';
import tls from 'node:tls';
import { PostboteError, toPostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import { ChannelReplies } from './channel-replies.js';
import type { SmtpReply } from './types.js';

export class Channel extends ChannelReplies {
  private socket: net.Socket;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onError = (err: Error) => this.fail(toPostboteError(err, this.where));
  private readonly onClose = () =>
    this.fail(new PostboteError('CONNECTION_CLOSED', 'the server closed the connection', this.opts()));

  constructor(socket: net.Socket, log: Logger, where: string) {
    super(log, where);
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
    if (this.hasUnread()) {
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
    this.rejectWaiter(reason);
  }

  close(): void {
    this.fail(this.closedError('the connection was closed by Postbote'));
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
}
