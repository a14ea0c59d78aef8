// imapflow's errors as PostboteErrors: a tagged NO/BAD keeps the server's words and its response code
// (RFC 5530), which decides temporary versus permanent; socket, TLS and parser failures get a fix.
import { PostboteError, type ServerReply, toPostboteError } from '../errors.js';
import { tlsError } from '../pop3/connect.js';

/** What imapflow puts on the errors it throws (plain properties, not typed by the library). */
interface ImapFlowFailure {
  message?: string;
  code?: string;
  authenticationFailed?: boolean;
  responseStatus?: string;
  responseText?: string;
  serverResponseCode?: string;
  executedCommand?: string;
}

/** RFC 5530 codes that say "not now": retrying later is the fix. */
const TEMPORARY_CODES = new Set(['UNAVAILABLE', 'INUSE', 'OVERQUOTA', 'LIMIT', 'EXPUNGEISSUED', 'SERVERBUG']);
const AUTH_CODES = new Set(['AUTHENTICATIONFAILED', 'AUTHORIZATIONFAILED', 'EXPIRED', 'PRIVACYREQUIRED']);
const TLS_CODES = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(VERIFY|GET)|HANDSHAKE/;

export function imapError(err: unknown, where: string, command?: string): PostboteError {
  if (err instanceof PostboteError) return err;
  const e = (err ?? {}) as ImapFlowFailure;
  const code = e.serverResponseCode?.toUpperCase();
  const status = e.responseStatus?.toUpperCase();
  const reply: ServerReply | undefined =
    status && (status === 'NO' || status === 'BAD' || status === 'BYE')
      ? { code: status, ...(code ? { enhanced: code } : {}), text: e.responseText ?? e.message ?? '' }
      : undefined;
  const cmd = command ?? e.executedCommand?.replace(/^(\S+\s+(?:LOGIN|AUTHENTICATE)\b).*/i, '$1 ****');
  // Checked first: a login answered [UNAVAILABLE] is the server's bad minute, not a wrong password.
  if (status === 'BYE' || (code && TEMPORARY_CODES.has(code))) {
    return new PostboteError('IMAP_UNAVAILABLE', `the server refused for now${code ? ` [${code}]` : ''}`, {
      temporary: true,
      where,
      reply,
      command: cmd,
      cause: err,
      hint:
        code === 'OVERQUOTA'
          ? 'the account or the move target is over quota: make room at the provider; nothing was removed'
          : 'retried on the next poll; nothing was removed',
    });
  }
  if (e.authenticationFailed || (code && AUTH_CODES.has(code))) {
    return new PostboteError('IMAP_AUTH', 'login refused', {
      temporary: false,
      where,
      reply,
      command: cmd,
      cause: err,
      hint: 'check user and password (an app password where the provider asks for one), and that IMAP is enabled for the account',
    });
  }
  if (reply) {
    return new PostboteError('IMAP_COMMAND', `the server refused ${cmd ?? 'a command'}`, {
      temporary: status !== 'BAD',
      where,
      reply,
      command: cmd,
      cause: err,
    });
  }
  const ecode = e.code ?? '';
  if (TLS_CODES.test(ecode) || /certificate|handshake/i.test(e.message ?? '')) return tlsError(err, where);
  if (ecode === 'ETIMEOUT' || ecode === 'GREETING_TIMEOUT' || ecode === 'UPGRADE_TIMEOUT') {
    return new PostboteError('TIMEOUT', 'the server stopped answering', {
      temporary: true,
      where,
      cause: err,
    });
  }
  if (ecode === 'CONNECT_TIMEOUT') {
    return new PostboteError('CONNECT_TIMEOUT', 'no connection within the connect timeout', {
      temporary: true,
      where,
      cause: err,
      hint: 'check host, port and the firewall',
    });
  }
  if (ecode === 'NoConnection' || ecode === 'EConnectionClosed' || ecode.startsWith('ClosedAfterConnect')) {
    return new PostboteError('CONNECTION_CLOSED', 'the server closed the connection', {
      temporary: true,
      where,
      cause: err,
    });
  }
  if (/^(LineTooLarge|LiteralTooLarge|ResponseTooLarge|TooManyTokens|TooManyResponses)$/.test(ecode)) {
    return new PostboteError('PROTOCOL', `the server sent an oversized response (${ecode})`, {
      temporary: true,
      where,
      cause: err,
      hint: 'the connection was dropped to bound memory; tell the provider if it persists',
    });
  }
  if (ecode.startsWith('Parser') || ecode === 'InvalidResponse' || ecode === 'UnexpectedTag') {
    return new PostboteError('PROTOCOL', `the server's reply could not be parsed (${ecode})`, {
      temporary: true,
      where,
      cause: err,
    });
  }
  if (/STARTTLS/i.test(e.message ?? '')) {
    return new PostboteError('TLS_REQUIRED', 'the server does not offer STARTTLS', {
      temporary: false,
      where,
      cause: err,
      hint: 'use tls: tls (port 993), or tls: none only on a trusted network',
    });
  }
  return toPostboteError(err, where);
}
