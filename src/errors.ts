// One error family for every component. The scheduler decides retry versus alert from `temporary`;
// the CLI and the web page show `message`, the server's own words in `reply`, and the `hint`.

export type ErrorCode =
  // configuration
  | 'CONFIG_INVALID'
  // network and TLS, any protocol
  | 'CONNECT_FAILED'
  | 'CONNECT_TIMEOUT'
  | 'CONNECTION_CLOSED'
  | 'TIMEOUT'
  | 'TLS_FAILED'
  | 'TLS_REQUIRED'
  | 'PROTOCOL'
  | 'LINE_TOO_LONG'
  | 'MESSAGE_TOO_LARGE'
  // POP3 source (RFC 3206 response codes map onto these)
  | 'POP3_GREETING'
  | 'POP3_AUTH'
  | 'POP3_IN_USE'
  | 'POP3_LOGIN_DELAY'
  | 'POP3_SYS_TEMP'
  | 'POP3_SYS_PERM'
  | 'POP3_COMMAND'
  | 'POP3_LISTING_TOO_LARGE'
  /** Replies out of step with the commands (a body ran into the next reply): nothing read is trusted. */
  | 'POP3_DESYNC'
  /** A message whose end cannot be found (last line without CRLF before the final dot). */
  | 'POP3_UNREADABLE'
  // IMAP source (RFC 5530 response codes map onto these)
  | 'IMAP_AUTH'
  /** The server is unavailable or over a limit for now ([UNAVAILABLE], [OVERQUOTA], [INUSE], BYE). */
  | 'IMAP_UNAVAILABLE'
  | 'IMAP_COMMAND'
  /** A folder changed under the session (UIDVALIDITY, message gone, fewer bytes than its listed size). */
  | 'IMAP_CHANGED'
  // any source: a listing line that cannot be trusted (that message is left alone)
  | 'SOURCE_LISTING'
  // SMTP / LMTP target
  | 'SMTP_GREETING'
  | 'SMTP_AUTH'
  | 'SMTP_REFUSED_CLIENT'
  | 'SMTP_SENDER'
  | 'SMTP_RECIPIENT'
  | 'SMTP_DATA'
  | 'SMTP_COMMAND'
  /** The message needs SMTPUTF8 (RFC 6531) and the target does not offer it: not downgraded, refused. */
  | 'SMTP_UTF8_UNSUPPORTED'
  /** A spam or virus scanner (rspamd, spamd, clamd) down, too slow, or answering nonsense. */
  | 'FILTER_UNAVAILABLE'
  // OAuth2 sign-in (src/oauth/)
  /** The provider refused the stored refresh token (invalid_grant): consent revoked, expired, or password changed. */
  | 'OAUTH_REVOKED'
  /** No refresh token stored for the mailbox yet, or it cannot be decrypted with the configured key. */
  | 'OAUTH_NOT_LOGGED_IN'
  /** The token endpoint failed or refused the client (network, 5xx, invalid_client, a reply that is not OAuth). */
  | 'OAUTH_FAILED'
  // local
  | 'SPOOL'
  | 'STORE'
  /** Another process holds the state's lock (src/app/state-lock.ts). */
  | 'STATE_IN_USE'
  | 'CANCELLED';

/** A reply as the server sent it, kept verbatim so users see the server's own words. */
export interface ServerReply {
  /** SMTP basic code (250, 451, 550) or POP3 status ('+OK' / '-ERR'). */
  code: number | string;
  /** SMTP enhanced status code (RFC 3463) or POP3 response code (RFC 2449/3206), e.g. '5.7.1' or 'IN-USE'. */
  enhanced?: string;
  text: string;
}

export interface PostboteErrorOptions {
  temporary: boolean;
  reply?: ServerReply;
  /** The command that failed, with secrets masked (e.g. 'PASS ****'). */
  command?: string;
  /** What the user should do about it. */
  hint?: string;
  /** Where it failed: 'pop3 pop.example.com:995', 'target exchange.corp.local:2526'. */
  where?: string;
  cause?: unknown;
}

export class PostboteError extends Error {
  override readonly name = 'PostboteError';
  readonly code: ErrorCode;
  readonly temporary: boolean;
  readonly reply?: ServerReply;
  readonly command?: string;
  readonly hint?: string;
  readonly where?: string;

  constructor(code: ErrorCode, message: string, options: PostboteErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.temporary = options.temporary;
    this.reply = options.reply;
    this.command = options.command;
    this.hint = options.hint;
    this.where = options.where;
  }

  /**
   * A one-line description for logs and the CLI: what failed, where, the server's words, what to do.
   * `where: false` when the caller already names the place (check's "target host:port (…)"), `hint:
   * false` when it shows the fix on its own line: either would otherwise be said twice.
   */
  describe(options: { where?: boolean; hint?: boolean } = {}): string {
    const parts = [this.where && options.where !== false ? `${this.where}: ${this.message}` : this.message];
    if (this.reply) {
      const enhanced = this.reply.enhanced ? ` ${this.reply.enhanced}` : '';
      parts.push(`(server said: ${this.reply.code}${enhanced} ${this.reply.text})`);
    }
    if (this.hint && options.hint !== false) parts.push(`- ${this.hint}`);
    return parts.join(' ');
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      temporary: this.temporary,
      reply: this.reply,
      command: this.command,
      hint: this.hint,
      where: this.where,
    };
  }
}

export function isPostboteError(err: unknown): err is PostboteError {
  return err instanceof PostboteError;
}

/**
 * Wraps anything thrown into a PostboteError. Node's socket errors (ECONNREFUSED, ETIMEDOUT…) are
 * temporary: the server may come back. Anything unknown is treated as temporary too, because
 * retrying is safe (nothing is deleted before delivery is committed) and giving up is not.
 */
export function toPostboteError(err: unknown, where?: string): PostboteError {
  if (err instanceof PostboteError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  const message = e?.message ?? String(err);
  switch (e?.code) {
    case 'ECONNREFUSED':
      return new PostboteError('CONNECT_FAILED', `connection refused`, {
        temporary: true,
        where,
        cause: err,
        hint: 'check host and port, and that the server is running',
      });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new PostboteError('CONNECT_FAILED', `host name not found (${e.code})`, {
        temporary: true,
        where,
        cause: err,
        hint: 'check the host name and this machine’s DNS',
      });
    case 'EADDRNOTAVAIL':
      return new PostboteError('CONNECT_FAILED', `local address not available`, {
        temporary: false,
        where,
        cause: err,
        hint: 'localAddress must be an address of this machine',
      });
    case 'ECONNRESET':
    case 'EPIPE':
      return new PostboteError('CONNECTION_CLOSED', `connection reset by the server`, {
        temporary: true,
        where,
        cause: err,
      });
    case 'ETIMEDOUT':
      return new PostboteError('TIMEOUT', message, { temporary: true, where, cause: err });
    default:
      return new PostboteError('PROTOCOL', message, { temporary: true, where, cause: err });
  }
}
