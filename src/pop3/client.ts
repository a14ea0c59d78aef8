// The POP3 source session (RFC 1939, 2449, 2595, 5034): connect, STLS, log in, then list, stream,
// delete and commit. Implements the connector's SourceSession contract; the login is login.ts's.
import type { Readable } from 'node:stream';
import { PostboteError } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';
import type { RefusedDeletion, SourceListing, SourceMessage, SourceSession } from '../source/types.js';
import { MessageStream } from './body-sinks.js';
import { type BufferedContext, type MultiResult, multi, readListings } from './buffered-replies.js';
import { type ServerPolicy, serverPolicy } from './capabilities.js';
import { openSocket } from './connect.js';
import { Pop3Connection } from './connection.js';
import { bodyLines, joinListings, parseList, parseUidl } from './listings.js';
import { Pop3Login, pipelines } from './login.js';
import {
  DEFAULT_MAX_LINE_LENGTH,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_TIMEOUTS,
  MAX_TOP_BYTES,
  MIN_TRANSFER_RATE,
  PIPELINE_BATCH,
  type Pop3Options,
  pop3Where,
} from './options.js';
import { type Pop3Reply, toServerReply } from './reply.js';
import { type Pop3Stage, refusalError } from './resp-codes.js';

export class Pop3Session implements SourceSession {
  readonly protocol = 'pop3' as const;
  readonly server: string;
  private tlsActive: boolean;
  /** CAPA as last answered: name (upper case) → arguments. Empty when the server has no CAPA. */
  capabilities: ReadonlyMap<string, readonly string[]> = new Map();
  private readonly where: string;
  private readonly timeouts: typeof DEFAULT_TIMEOUTS;
  /** What CAPA, UIDL, LIST and TOP are read with (buffered-replies.ts). */
  private readonly replies: BufferedContext;
  /** RFC 6856: the server said +OK to UTF8, so it sends UTF-8 mail as stored instead of a substitute. */
  private utf8Mode = false;
  /** UIDL and LIST sent with the CAPA after login (PIPELINING): what list() answers first. */
  private early: Promise<[MultiResult, MultiResult]> | undefined;

  /** @internal use openPop3() */
  constructor(
    private readonly conn: Pop3Connection,
    private readonly options: Pop3Options,
    private readonly logger: Logger = silentLogger(),
  ) {
    this.server = options.host;
    this.tlsActive = options.tls === 'tls';
    this.where = pop3Where(options);
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.replies = {
      conn,
      where: this.where,
      timeout: this.timeouts.command,
      maxLine: options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
    };
  }

  get secure(): boolean {
    return this.tlsActive;
  }

  get utf8(): boolean {
    return this.utf8Mode;
  }

  /** UTF8, LOGIN-DELAY and EXPIRE as the server announced them (after login, the final word). */
  get policy(): ServerPolicy {
    return serverPolicy(this.capabilities);
  }

  get pipelining(): boolean {
    return pipelines(this.options, this.capabilities);
  }

  /** Logs in (login.ts) and takes over what the login learned. */
  async start(): Promise<void> {
    const login = new Pop3Login(this.replies, this.options, this.timeouts, this.logger);
    await login.start();
    this.tlsActive = login.secure;
    this.capabilities = login.capabilities;
    this.utf8Mode = login.utf8;
    this.early = login.early;
  }

  async stat(): Promise<{ count: number; size: number }> {
    const reply = await this.single('STAT', 'command');
    const m = /^(\d+)\s+(\d+)/.exec(reply.text);
    if (!m) throw this.protocolError(`STAT reply not understood: ${reply.text}`);
    return { count: Number(m[1]), size: Number(m[2]) };
  }

  async noop(): Promise<void> {
    await this.single('NOOP', 'command');
  }

  /** RSET: undoes this session's DELE marks. */
  async reset(): Promise<void> {
    await this.single('RSET', 'command');
  }

  async list(): Promise<SourceListing> {
    const early = this.early;
    this.early = undefined;
    // Without pipelining, STAT first: an empty mailbox (the usual poll) then needs no UIDL and LIST.
    // Only where CAPA promised UIDL, so a server without it is still told about at its first poll.
    // A STAT refused or not understood only costs that round trip: the listing decides.
    if (!early && !this.pipelining && this.capabilities.has('UIDL')) {
      const stat = await this.conn.command({ line: 'STAT', timeout: this.timeouts.command });
      if (stat.status === '+OK' && /^0\s/.test(stat.text)) return { messages: [], refused: [] };
    }
    const [uidl, list] = early ? await early : await readListings(this.replies, this.pipelining);
    if (uidl.reply.status !== '+OK') {
      throw new PostboteError('POP3_COMMAND', `server does not support UIDL: ${uidl.reply.text}`, {
        temporary: false,
        reply: toServerReply(uidl.reply),
        command: 'UIDL',
        where: this.where,
        hint: 'without UIDL, messages cannot be recognised between sessions; ask the provider to enable it',
      });
    }
    if (list.reply.status !== '+OK') this.throwErr(list.reply, 'command', 'LIST');
    return joinListings(parseUidl(bodyLines(uidl.body!)), parseList(bodyLines(list.body!)));
  }

  retrieve(message: SourceMessage): Readable {
    return this.retrieveMany([message])[0]!;
  }

  /**
   * RETR for several messages in one write (PIPELINING; callers pass one at a time otherwise). The
   * streams fill in order, each held back by its reader; destroying one drains the rest of its body.
   */
  retrieveMany(messages: SourceMessage[]): Readable[] {
    const max = this.options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    const requested: Array<{ line: string; stream: MessageStream; size: number }> = [];
    const streams = messages.map((message) => {
      const tooLarge = (size: number) =>
        new PostboteError(
          'MESSAGE_TOO_LARGE',
          `message ${message.uid} is larger than ${max} octets (${size})`,
          {
            temporary: false,
            where: this.where,
            command: `RETR ${message.num}`,
            hint: 'raise maxMessageSize, or let the message be quarantined',
          },
        );
      const stream = new MessageStream(max, tooLarge);
      if (message.size > max) {
        // LIST already says it is too large: do not download it.
        process.nextTick(() => stream.destroy(tooLarge(message.size)));
        return stream;
      }
      stream.onWanted = () => this.conn.resume();
      requested.push({ line: `RETR ${message.num}`, stream, size: message.size });
      return stream;
    });
    const replies = this.conn.send(
      requested.map(({ line, stream, size }) => ({
        line,
        body: stream,
        timeout: this.timeouts.command,
        deadline: this.timeouts.message,
        expectedSize: size,
      })),
    );
    replies.forEach((pending, i) => {
      const { line, stream } = requested[i]!;
      pending.then(
        (reply) => {
          if (reply.status !== '+OK') stream.destroy(this.errFor(reply, 'command', line));
        },
        (err: PostboteError) => stream.destroy(err),
      );
    });
    return streams;
  }

  async top(message: SourceMessage, lines: number): Promise<Buffer> {
    const line = `TOP ${message.num} ${lines}`;
    const { reply, body } = await multi(this.replies, line, { bytes: MAX_TOP_BYTES });
    if (reply.status !== '+OK') this.throwErr(reply, 'command', line);
    return body!;
  }

  async delete(messages: SourceMessage[]): Promise<RefusedDeletion[]> {
    const batch = this.pipelining ? PIPELINE_BATCH : 1;
    const refused: RefusedDeletion[] = [];
    for (let i = 0; i < messages.length; i += batch) {
      const slice = messages.slice(i, i + batch);
      const lines = slice.map((m) => `DELE ${m.num}`);
      const replies = await Promise.all(
        this.conn.send(lines.map((line) => ({ line, timeout: this.timeouts.command }))),
      );
      // One refused DELE costs only that message: the others are still committed at QUIT.
      replies.forEach((reply, j) => {
        if (reply.status !== '+OK')
          refused.push({ message: slice[j]!, error: this.errFor(reply, 'dele', lines[j]!) });
      });
    }
    return refused;
  }

  async close(): Promise<void> {
    const reply = await this.conn.command({ line: 'QUIT', timeout: this.timeouts.command });
    const err = reply.status === '+OK' ? undefined : this.errFor(reply, 'quit', 'QUIT');
    this.conn.end(
      () => new PostboteError('CONNECTION_CLOSED', 'session closed', { temporary: true, where: this.where }),
    );
    if (err) throw err;
  }

  abort(): void {
    this.conn.fail(new PostboteError('CANCELLED', 'session aborted', { temporary: true, where: this.where }));
  }

  private async single(line: string, stage: Pop3Stage): Promise<Pop3Reply> {
    const reply = await this.conn.command({ line, timeout: this.timeouts.command });
    this.check(reply, stage, line);
    return reply;
  }

  private check(reply: Pop3Reply, stage: Pop3Stage, command: string): void {
    if (reply.status !== '+OK') this.throwErr(reply, stage, command);
  }

  private throwErr(reply: Pop3Reply, stage: Pop3Stage, command: string): never {
    throw this.errFor(reply, stage, command);
  }

  private errFor(reply: Pop3Reply, stage: Pop3Stage, command: string): PostboteError {
    return refusalError(reply, stage, command, this.where);
  }

  private protocolError(message: string): PostboteError {
    return new PostboteError('PROTOCOL', message, { temporary: true, where: this.where });
  }
}

/** Connects, secures and logs in. On any failure the connection is closed and the error thrown. */
export async function openPop3(options: Pop3Options): Promise<Pop3Session> {
  const where = pop3Where(options);
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const logger = (options.logger ?? silentLogger()).child({ component: 'pop3', server: where });
  const socket = await openSocket(options, where, timeouts.connect);
  const conn = new Pop3Connection(socket, {
    where,
    logger,
    maxLineLength: options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
    idleTimeout: timeouts.idle,
    minRate: MIN_TRANSFER_RATE,
  });
  const session = new Pop3Session(conn, options, logger);
  try {
    await session.start();
  } catch (err) {
    session.abort();
    throw err;
  }
  return session;
}
