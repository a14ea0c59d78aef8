// The POP3 source session (RFC 1939, 2449, 2595, 5034): connect, STLS, log in, then list, stream,
// delete and commit. Implements the connector's SourceSession contract.
import type { Readable } from 'node:stream';
import { PostboteError } from '../errors.js';
import { type Logger, silentLogger } from '../log.js';
import type { RefusedDeletion, SourceListing, SourceMessage, SourceSession } from '../source/types.js';
import { watchSilentGreeting } from '../util/tls-probe.js';
import { type AuthContext, authenticate, chooseAuth } from './auth.js';
import { BodyCollector, MessageStream } from './body-sinks.js';
import { type Capabilities, type ServerPolicy, serverPolicy, unusedCapabilities } from './capabilities.js';
import { openSocket, upgradeSocket } from './connect.js';
import { Pop3Connection } from './connection.js';
import { bodyLines, joinListings, parseCapa, parseList, parseUidl } from './listings.js';
import { forgetLogin, pipelinedLogin, rememberLogin } from './login-capabilities.js';
import {
  DEFAULT_MAX_LINE_LENGTH,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_TIMEOUTS,
  MAX_LISTING_BYTES,
  MAX_LISTING_ENTRIES,
  MAX_TOP_BYTES,
  MIN_TRANSFER_RATE,
  PIPELINE_BATCH,
  type Pop3Options,
  pop3Where,
} from './options.js';
import { apopTimestamp, type Pop3Reply, toServerReply } from './reply.js';
import { classifyErr, type Pop3Stage } from './resp-codes.js';

type MultiResult = { reply: Pop3Reply; body?: Buffer };

/** What a buffered multi-line reply may hold; a listing's overflow is the server's fault, named so. */
interface MultiLimits {
  bytes: number;
  lines?: number;
  listing?: boolean;
}

// A listing (UIDL, LIST) has one short line per message: bounded by entries and by bytes, so an
// endless one fails instead of growing memory without limit.
const LISTING_LIMITS: MultiLimits = { bytes: MAX_LISTING_BYTES, lines: MAX_LISTING_ENTRIES, listing: true };

/**
 * Logins written whole in one write: USER and PASS pipelined, APOP, SASL PLAIN with its initial
 * response. Commands after them in that write cannot be taken for an answer to a challenge (SASL LOGIN
 * asks twice; XOAUTH2 answers a refused token with a challenge that waits for an empty line).
 */
const ONE_WRITE_LOGINS: ReadonlySet<string> = new Set(['user', 'apop', 'plain']);

interface CapaAnswer {
  known: boolean;
  capabilities: Capabilities;
}

interface AfterLogin {
  capa: Promise<CapaAnswer>;
  listings: Promise<[MultiResult, MultiResult]>;
}

export class Pop3Session implements SourceSession {
  readonly protocol = 'pop3' as const;
  readonly server: string;
  private tlsActive: boolean;
  /** CAPA as last answered: name (upper case) → arguments. Empty when the server has no CAPA. */
  capabilities: ReadonlyMap<string, readonly string[]> = new Map();
  private capaKnown = false;
  private readonly where: string;
  private readonly timeouts: typeof DEFAULT_TIMEOUTS;
  /** RFC 6856: the server said +OK to UTF8, so it sends UTF-8 mail as stored instead of a substitute. */
  private utf8Mode = false;
  /** UTF8 was sent (and answered either way): it is never sent twice in one session. */
  private utf8Asked = false;
  /** UIDL and LIST sent with the CAPA after login (PIPELINING): what list() answers first. */
  private early: Promise<[MultiResult, MultiResult]> | undefined;
  /** The after-login commands sent in the login's write, until afterLogin() takes them. */
  private sentAfterLogin: AfterLogin | undefined;

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
    return this.options.pipelining !== false && this.capabilities.has('PIPELINING');
  }

  /**
   * Greeting, CAPA, STLS when asked for, login, CAPA again (capabilities may change after login).
   * With PIPELINING the round trips are fewer: CAPA and the login in one write when the last session
   * to this server saw PIPELINING, and after login CAPA, UIDL and LIST in one write.
   */
  async start(): Promise<void> {
    const greeting = await this.greeting();
    this.check(greeting, 'greeting', 'greeting');
    if (this.options.tls === 'starttls') {
      await this.refreshCapabilities();
      await this.startTls();
    }
    const apop = apopTimestamp(greeting.text);
    const known = this.options.pipelining === false ? undefined : pipelinedLogin(this.options);
    if (known) {
      await this.pipelinedLogin(known, apop);
    } else {
      await this.refreshCapabilities();
      // RFC 6856 allows UTF8 before or after login; before it, a UTF8 USER server also takes UTF-8 names.
      await this.enterUtf8Mode();
      await authenticate(this.authContext(apop, this.capabilities), this.options.auth ?? 'auto');
    }
    if (this.capaKnown) rememberLogin(this.options, this.capabilities);
    else forgetLogin(this.options);
    if (this.capaKnown) await this.afterLogin();
    await this.enterUtf8Mode();
    const unused = unusedCapabilities(this.capabilities, apop !== undefined && this.options.auth !== 'apop');
    if (unused.length > 0) this.logger.debug({ unused }, 'server capabilities not used by Postbote');
  }

  private authContext(apop: string | undefined, capabilities: Capabilities): AuthContext {
    return {
      conn: this.conn,
      where: this.where,
      timeout: this.timeouts.command,
      user: this.options.user,
      password: this.options.password,
      capabilities,
      capaKnown: this.capaKnown || capabilities.size > 0,
      apopTimestamp: apop,
      pipelining: this.options.pipelining !== false && capabilities.has('PIPELINING'),
    };
  }

  /**
   * CAPA and the login in one write, the method chosen from what the last session saw. This session's
   * CAPA answer still decides: if it no longer allows what was sent, the server is forgotten (the next
   * session logs in step by step) and a failed login is reported as temporary, not as a wrong password.
   * A login that is whole in that write (no challenge awaited) takes the after-login CAPA, UIDL and
   * LIST along: an idle poll is then two writes, the fewest a poll can be (each write and its reply
   * cost both ends a wake-up; on loopback the sender also pays the receiver's TCP work).
   */
  private async pipelinedLogin(known: Capabilities, apop: string | undefined): Promise<void> {
    const wanted = this.options.auth ?? 'auto';
    const ctx = this.authContext(apop, known);
    const method = chooseAuth(ctx, wanted);
    const along = this.options.listOnLogin === true && ONE_WRITE_LOGINS.has(method);
    const [capa, login, after] = this.conn.batch(
      () =>
        [
          this.capaAnswer(),
          authenticate(ctx, wanted),
          along ? this.afterLoginCommands() : undefined,
        ] as const,
    );
    login.catch(() => undefined); // awaited below, after the CAPA answer it follows
    this.sentAfterLogin = after;
    this.applyCapa(await capa);
    let still = false;
    try {
      still =
        this.capabilities.has('PIPELINING') &&
        chooseAuth(this.authContext(apop, this.capabilities), wanted) === method;
    } catch {
      // no method fits the server any more: said by the step-by-step login of the next session
    }
    if (!still) forgetLogin(this.options);
    try {
      await login;
    } catch (err) {
      if (still) throw err;
      throw new PostboteError(
        'PROTOCOL',
        "the server's capabilities changed since the last session and the login sent for the old ones failed; the next session logs in step by step",
        { temporary: true, where: this.where, cause: err },
      );
    }
  }

  /** CAPA, UIDL and LIST sent at once; what afterLogin() and list() then take. */
  private afterLoginCommands(): AfterLogin {
    const capa = this.capaAnswer();
    // The login's CAPA is not answered yet: PIPELINING is what the last session saw (pipelinedLogin).
    const listings = this.listings(true);
    // Taken by afterLogin() and list(); a failed login or a session closed without listing drops them.
    capa.catch(() => undefined);
    listings.catch(() => undefined);
    return { capa, listings };
  }

  /** After login: CAPA again, with UIDL and LIST in the same write when the server pipelines and list() comes next. */
  private async afterLogin(): Promise<void> {
    const sent = this.sentAfterLogin;
    this.sentAfterLogin = undefined;
    if (sent) {
      this.early = sent.listings;
      this.applyCapa(await sent.capa);
      return;
    }
    if (!this.pipelining || !this.options.listOnLogin) {
      await this.refreshCapabilities();
      return;
    }
    const [capa, listings] = this.conn.batch(() => [this.capa(), this.listings()] as const);
    // Taken by list(); a session closed without listing drops it.
    listings.catch(() => undefined);
    this.early = listings;
    await capa;
  }

  /**
   * Says UTF8 when CAPA lists it. A server like Courier otherwise replaces every message with UTF-8
   * headers by a "Cannot display Unicode content" notice: without this, mail would change silently.
   */
  private async enterUtf8Mode(): Promise<void> {
    if (this.utf8Asked || !this.capabilities.has('UTF8')) return;
    this.utf8Asked = true;
    const reply = await this.conn.command({ line: 'UTF8', timeout: this.timeouts.command });
    if (reply.status === '+OK') {
      this.utf8Mode = true;
      this.logger.info('session in UTF-8 mode (RFC 6856): messages with UTF-8 headers come as stored');
      return;
    }
    this.logger.warn(
      { reply: toServerReply(reply) },
      `UTF8 refused (${reply.text || 'no reason given'}): the server may replace messages with UTF-8 headers by a notice`,
    );
  }

  /**
   * The greeting; on a plain connection a long silence is checked for a TLS port (POP3S waits for our
   * ClientHello and would never greet), which fails at once with the setting to change.
   */
  private async greeting(): Promise<Pop3Reply> {
    const stop =
      this.options.tls === 'tls'
        ? () => {}
        : watchSilentGreeting(this.options, () =>
            this.conn.fail(
              new PostboteError('TLS_REQUIRED', 'no greeting: the server waits for a TLS handshake', {
                temporary: false,
                where: this.where,
                hint: `port ${this.options.port} speaks TLS: set tls: tls`,
              }),
            ),
          );
    try {
      return await this.conn.command({ timeout: this.timeouts.greeting });
    } finally {
      stop();
    }
  }

  private async startTls(): Promise<void> {
    const refuse = (why: string, reply?: Pop3Reply) =>
      new PostboteError('TLS_REQUIRED', why, {
        temporary: false,
        where: this.where,
        ...(reply ? { reply: toServerReply(reply) } : {}),
        command: 'STLS',
        hint: 'the account is set to tls: starttls, so Postbote will not send the password unencrypted; use tls: tls (port 995) if the provider offers it',
      });
    if (this.capaKnown && !this.capabilities.has('STLS')) {
      this.conn.fail(refuse('server does not offer STLS'));
      throw refuse('server does not offer STLS');
    }
    const reply = await this.conn.command({ line: 'STLS', timeout: this.timeouts.command });
    if (reply.status !== '+OK') {
      const err = refuse('server refused STLS', reply);
      this.conn.fail(err);
      throw err;
    }
    const secure = await upgradeSocket(
      this.conn.detach(),
      this.options,
      this.where,
      this.timeouts.connect,
    ).catch((err: PostboteError) => {
      this.conn.fail(err);
      throw err;
    });
    this.conn.attach(secure);
    this.tlsActive = true;
    // RFC 2595 §4: forget what was learned before TLS, it may have been tampered with; the login
    // step asks again.
    this.capabilities = new Map();
    this.capaKnown = false;
  }

  private async refreshCapabilities(): Promise<void> {
    await this.capa();
  }

  /** Sends CAPA at once (so it can share a write); its answer replaces the capabilities. */
  private async capa(): Promise<void> {
    this.applyCapa(await this.capaAnswer());
  }

  /** Sends CAPA at once; its answer, not yet taken for the session's capabilities. */
  private async capaAnswer(): Promise<CapaAnswer> {
    // CAPA is a few short lines: the byte cap is a line's worth.
    const { reply, body } = await this.multi('CAPA', {
      bytes: this.options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH,
    });
    return { known: reply.status === '+OK', capabilities: body ? parseCapa(bodyLines(body)) : new Map() };
  }

  private applyCapa(answer: CapaAnswer): void {
    this.capaKnown = answer.known;
    this.capabilities = answer.capabilities;
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
    const [uidl, list] = early ? await early : await this.listings();
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

  /** UIDL and LIST, bounded (LISTING_LIMITS); a listing that fails takes the connection with it. */
  private async listings(pipelined = this.pipelining): Promise<[MultiResult, MultiResult]> {
    try {
      if (pipelined) {
        return (await this.multiMany(['UIDL', 'LIST'], LISTING_LIMITS)) as [MultiResult, MultiResult];
      }
      return [await this.multi('UIDL', LISTING_LIMITS), await this.multi('LIST', LISTING_LIMITS)];
    } catch (err) {
      // An overflowing listing would otherwise be drained to its end, which may never come.
      this.conn.fail(err as PostboteError);
      throw err;
    }
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
    const { reply, body } = await this.multi(line, { bytes: MAX_TOP_BYTES });
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

  /** Multi-line commands, buffered, written in one batch. A body is undefined when its reply was -ERR. */
  private multiMany(lines: string[], limits: MultiLimits): Promise<MultiResult[]> {
    const maxLine = this.options.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
    const collectors = lines.map(
      (line) =>
        new BodyCollector(
          limits.bytes,
          maxLine,
          (what) => this.overflowError(line, what, limits, maxLine),
          limits.lines,
        ),
    );
    const replies = this.conn.send(
      lines.map((line, i) => ({ line, body: collectors[i]!, timeout: this.timeouts.command })),
    );
    return Promise.all(
      replies.map(async (pending, i) => {
        const reply = await pending;
        return reply.status === '+OK' ? { reply, body: await collectors[i]!.result() } : { reply };
      }),
    );
  }

  private async multi(line: string, limits: MultiLimits): Promise<MultiResult> {
    return (await this.multiMany([line], limits))[0]!;
  }

  private overflowError(
    line: string,
    what: 'line' | 'body' | 'lines',
    limits: MultiLimits,
    maxLine: number,
  ): PostboteError {
    const where = this.where;
    if (what === 'line') {
      return new PostboteError('LINE_TOO_LONG', `a line of the reply to ${line} exceeds ${maxLine} octets`, {
        temporary: true,
        where,
        command: line,
      });
    }
    if (!limits.listing) {
      return new PostboteError('MESSAGE_TOO_LARGE', `the reply to ${line} exceeds ${limits.bytes} octets`, {
        temporary: false,
        where,
        command: line,
      });
    }
    const limit = what === 'lines' ? `${limits.lines} entries` : `${limits.bytes} octets`;
    return new PostboteError(
      'POP3_LISTING_TOO_LARGE',
      `the server's ${line} listing exceeds ${limit}: the server is broken or hostile (no mailbox holds that many messages)`,
      {
        temporary: true,
        where,
        command: line,
        hint: 'ask the provider to check the mailbox; Postbote stops reading the listing to protect its memory',
      },
    );
  }

  private check(reply: Pop3Reply, stage: Pop3Stage, command: string): void {
    if (reply.status !== '+OK') this.throwErr(reply, stage, command);
  }

  private throwErr(reply: Pop3Reply, stage: Pop3Stage, command: string): never {
    throw this.errFor(reply, stage, command);
  }

  private errFor(reply: Pop3Reply, stage: Pop3Stage, command: string): PostboteError {
    const cls = classifyErr(reply, stage);
    return new PostboteError(
      cls.code,
      `${command.split(' ')[0]} refused: ${reply.text || 'no reason given'}`,
      {
        temporary: cls.temporary,
        reply: toServerReply(reply),
        command,
        where: this.where,
        ...(cls.hint ? { hint: cls.hint } : {}),
      },
    );
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
