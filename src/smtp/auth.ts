// SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) or LOGIN; secrets never reach the log.
import { PostboteError } from '../errors.js';
import { maskCommand } from '../log.js';
import type { Channel } from './channel.js';
import type { Timeouts } from './handshake.js';
import type { SmtpClientOptions, SmtpReply, SmtpTls } from './types.js';

type Auth = NonNullable<SmtpClientOptions['auth']>;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

export async function authenticate(
  ch: Channel,
  auth: Auth,
  tlsMode: SmtpTls,
  extensions: ReadonlyMap<string, string>,
  timeouts: Timeouts,
): Promise<void> {
  // tls: 'none' is the user's explicit choice of a clear channel; otherwise a clear channel here
  // would mean TLS was silently lost, and the password must not follow.
  if (!ch.secure && tlsMode !== 'none') {
    throw authError(
      'refusing to send credentials over an unencrypted connection',
      undefined,
      false,
      ch.where,
    );
  }
  const offered = (extensions.get('AUTH') ?? '').toUpperCase().split(/\s+/).filter(Boolean);
  if (!extensions.has('AUTH')) {
    throw authError(
      'the target does not offer AUTH',
      undefined,
      false,
      ch.where,
      undefined,
      'remove target.auth, or enable authentication on the receive connector (Exchange: AuthMechanism)',
    );
  }
  const method = auth.method ?? (offered.includes('PLAIN') || !offered.includes('LOGIN') ? 'PLAIN' : 'LOGIN');
  let reply: SmtpReply;
  let command: string;
  if (method === 'PLAIN') {
    command = `AUTH PLAIN ${b64(`\0${auth.user}\0${auth.pass}`)}`;
    reply = await ch.command(command, timeouts.command, maskCommand(command));
    // A server that does not take the initial response asks with an empty 334 (RFC 4954 4).
    if (reply.code === 334)
      reply = await ch.command(b64(`\0${auth.user}\0${auth.pass}`), timeouts.command, '****');
  } else {
    command = 'AUTH LOGIN';
    reply = await ch.command(command, timeouts.command);
    if (reply.code === 334) reply = await ch.command(b64(auth.user), timeouts.command, '****');
    if (reply.code === 334) reply = await ch.command(b64(auth.pass), timeouts.command, '****');
  }
  if (reply.code === 235) return;
  // 454 (and any 4xx): try again later. 535 bad credentials, 534 mechanism too weak, 530/538
  // encryption required, 504 mechanism unknown: fixing them needs a person, so not temporary.
  const temporary = reply.code >= 400 && reply.code < 500;
  throw authError(
    `authentication as ${auth.user} failed (${method})`,
    reply,
    temporary,
    ch.where,
    maskCommand(command),
    authHint(reply, method),
  );
}

function authHint(reply: SmtpReply, method: string): string {
  switch (reply.code) {
    case 535:
      return 'check target.auth user and password (and that the account may send through this connector)';
    case 534:
    case 504:
      return `the server does not accept AUTH ${method}: set target.auth.method to the other mechanism`;
    case 530:
    case 538:
      return 'the server wants an encrypted connection first: set target.tls to starttls or tls';
    default:
      return reply.code < 500 ? 'the server could not check the credentials now; Postbote retries later' : '';
  }
}

function authError(
  message: string,
  reply: SmtpReply | undefined,
  temporary: boolean,
  where: string,
  command?: string,
  hint?: string,
): PostboteError {
  return new PostboteError('SMTP_AUTH', message, {
    temporary,
    reply,
    where,
    command,
    hint: hint || undefined,
  });
}
