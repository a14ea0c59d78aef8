// connectSmtp: opens a ready SMTP/LMTP session to the target (greeting, EHLO/LHLO, STARTTLS, AUTH)
// and the SmtpConnection the delivery layer drives, one transaction at a time.
import type { Readable } from 'node:stream';
import { PostboteError } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';
import { authenticate } from './auth.js';
import { Channel } from './channel.js';
import { hello, readGreeting, startTls, type Timeouts } from './handshake.js';
import { openSocket } from './socket.js';
import { runTransaction } from './transaction.js';
import type { Envelope, SendResult, SmtpClientOptions, SmtpConnection, SmtpReply } from './types.js';

// RFC 5321 4.5.3.2 minimums are 5 min for greeting/MAIL and 10 min for the data end; connect and
// commands are shorter because a connector on the LAN answers in milliseconds or not at all.
// minDataRate: 16 KiB/s (128 kbit/s) is far below any LAN or VPN a receive connector sits behind, yet
// gives a 35 MB message (Exchange's default limit) about 37 minutes; without it a server reading a
// few bytes a second would hold the connection, the message and a scheduler slot for days. Postfix has
// the same idea (smtp_min_data_rate, 500 B/s, for the open Internet, when deadlines are enabled).
const DEFAULT_TIMEOUTS: Timeouts = {
  connect: 15_000,
  greeting: 30_000,
  command: 60_000,
  dataEnd: 600_000,
  minDataRate: 16 * 1024,
};
// QUIT is a courtesy: the transaction is already settled, so do not hold a scheduler slot for it.
const QUIT_WAIT_MS = 5_000;

export async function connectSmtp(options: SmtpClientOptions): Promise<SmtpConnection> {
  const where = `target ${options.host}:${options.port}`;
  const log = (options.logger ?? silentLogger()).child({
    component: options.lmtp ? 'lmtp' : 'smtp',
    target: `${options.host}:${options.port}`,
  });
  const timeouts: Timeouts = { ...DEFAULT_TIMEOUTS, ...definedOnly(options.timeouts ?? {}) };
  const socket = await openSocket(options, timeouts.connect, where);
  const ch = new Channel(socket, log, where);
  log.debug({ localAddress: ch.localAddress, secure: ch.secure }, 'connected');
  try {
    await readGreeting(ch, timeouts, options);
    let extensions = await hello(ch, options, timeouts);
    if (options.tls === 'starttls') {
      await startTls(ch, options, extensions, timeouts);
      // RFC 3207 4.2: forget everything learnt in clear and ask again.
      extensions = await hello(ch, options, timeouts);
    }
    if (options.auth) await authenticate(ch, options.auth, options.tls, extensions, timeouts);
    return new SmtpSession(ch, extensions, options, timeouts, log);
  } catch (err) {
    await quitQuietly(ch, log);
    throw err;
  }
}

class SmtpSession implements SmtpConnection {
  private busy: string | undefined;

  constructor(
    private readonly ch: Channel,
    readonly extensions: ReadonlyMap<string, string>,
    private readonly options: SmtpClientOptions,
    private readonly timeouts: Timeouts,
    private readonly log: Logger,
  ) {}

  get secure(): boolean {
    return this.ch.secure;
  }

  get closed(): boolean {
    return this.ch.closed;
  }

  send(envelope: Envelope, body: Readable): Promise<SendResult> {
    return this.exclusive('send', () => runTransaction(this.context(), envelope, body), body);
  }

  probe(envelope: Envelope): Promise<SendResult> {
    return this.exclusive('probe', () => runTransaction(this.context(), envelope, null));
  }

  reset(): Promise<SmtpReply> {
    return this.exclusive('reset', () => this.ch.command('RSET', this.timeouts.command));
  }

  async quit(): Promise<void> {
    if (this.busy) throw new Error(`quit() while ${this.busy} is running`);
    await quitQuietly(this.ch, this.log);
  }

  close(): void {
    this.ch.close();
  }

  private context() {
    return {
      channel: this.ch,
      extensions: this.extensions,
      lmtp: this.options.lmtp === true,
      authenticated: this.options.auth !== undefined,
      timeouts: this.timeouts,
      log: this.log,
    };
  }

  /** One command sequence at a time: SMTP replies are matched to commands by order alone. */
  private async exclusive<T>(what: string, run: () => Promise<T>, body?: Readable): Promise<T> {
    if (this.busy) throw new Error(`${what}() while ${this.busy} is running`);
    if (this.ch.closed) {
      body?.destroy();
      throw this.ch.error ?? new PostboteError('CONNECTION_CLOSED', 'connection closed', { temporary: true });
    }
    this.busy = what;
    try {
      return await run();
    } finally {
      this.busy = undefined;
    }
  }
}

/** QUIT, wait briefly for 221, close; never throws (the session's outcome is already known). */
async function quitQuietly(ch: Channel, log: Logger): Promise<void> {
  if (ch.closed) return;
  try {
    await ch.command('QUIT', QUIT_WAIT_MS);
  } catch (err) {
    log.debug({ err }, 'QUIT got no reply');
  }
  ch.close();
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
