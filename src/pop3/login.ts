// Opening a POP3 session up to the TRANSACTION state (RFC 1939 §4, 2449, 2595, 5034, 6856): greeting,
// STLS, CAPA, the login (pipelined when the last session to the server allowed it), CAPA again, UTF8.
import { PostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import { watchSilentGreeting } from '../util/tls-probe.js';
import { type AuthContext, authenticate, chooseAuth } from './auth.js';
import { type BufferedContext, type MultiResult, multi, readListings } from './buffered-replies.js';
import { type Capabilities, unusedCapabilities } from './capabilities.js';
import type { Pop3Connection } from './connection.js';
import { bodyLines, parseCapa } from './listings.js';
import { forgetLogin, pipelinedLogin, rememberLogin } from './login-capabilities.js';
import type { DEFAULT_TIMEOUTS, Pop3Options } from './options.js';
import { apopTimestamp, type Pop3Reply, toServerReply } from './reply.js';
import { refusalError } from './resp-codes.js';
import { startTls } from './stls.js';

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

/** Commands may share a write: asked, and the server's CAPA (as last answered) offers PIPELINING. */
export function pipelines(options: Pop3Options, capabilities: Capabilities): boolean {
  return options.pipelining !== false && capabilities.has('PIPELINING');
}

/** One login; what it learned (capabilities, TLS, UTF-8 mode, listings sent along) the session takes over. */
export class Pop3Login {
  private tlsActive: boolean;
  /** CAPA as last answered: name (upper case) → arguments. Empty when the server has no CAPA. */
  capabilities: Capabilities = new Map();
  private capaKnown = false;
  /** RFC 6856: the server said +OK to UTF8, so it sends UTF-8 mail as stored instead of a substitute. */
  private utf8Mode = false;
  /** UTF8 was sent (and answered either way): it is never sent twice in one session. */
  private utf8Asked = false;
  /** UIDL and LIST sent with the CAPA after login (PIPELINING): what list() answers first. */
  early: Promise<[MultiResult, MultiResult]> | undefined;
  /** The after-login commands sent in the login's write, until afterLogin() takes them. */
  private sentAfterLogin: AfterLogin | undefined;
  private readonly conn: Pop3Connection;
  private readonly where: string;

  constructor(
    private readonly replies: BufferedContext,
    private readonly options: Pop3Options,
    private readonly timeouts: typeof DEFAULT_TIMEOUTS,
    private readonly logger: Logger,
  ) {
    this.conn = replies.conn;
    this.where = replies.where;
    this.tlsActive = options.tls === 'tls';
  }

  get secure(): boolean {
    return this.tlsActive;
  }

  get utf8(): boolean {
    return this.utf8Mode;
  }

  private get pipelining(): boolean {
    return pipelines(this.options, this.capabilities);
  }

  /**
   * Greeting, CAPA, STLS when asked for, login, CAPA again (capabilities may change after login).
   * With PIPELINING the round trips are fewer: CAPA and the login in one write when the last session
   * to this server saw PIPELINING, and after login CAPA, UIDL and LIST in one write.
   */
  async start(): Promise<void> {
    const greeting = await this.greeting();
    if (greeting.status !== '+OK') throw refusalError(greeting, 'greeting', 'greeting', this.where);
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
      pipelining: pipelines(this.options, capabilities),
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
    const listings = readListings(this.replies, true);
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
    const [capa, listings] = this.conn.batch(
      () => [this.capa(), readListings(this.replies, this.pipelining)] as const,
    );
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
    await startTls(
      this.conn,
      this.options,
      this.where,
      this.timeouts,
      !this.capaKnown || this.capabilities.has('STLS'),
    );
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
    const { reply, body } = await multi(this.replies, 'CAPA', {
      bytes: this.replies.maxLine,
    });
    return { known: reply.status === '+OK', capabilities: body ? parseCapa(bodyLines(body)) : new Map() };
  }

  private applyCapa(answer: CapaAnswer): void {
    this.capaKnown = answer.known;
    this.capabilities = answer.capabilities;
  }
}
