// Logging in (AUTHORIZATION state): USER/PASS and APOP (RFC 1939), SASL PLAIN with an initial response
// and LOGIN (RFC 5034), XOAUTH2 with an OAuth2 access token. Picks a method from CAPA and the greeting
// when asked for 'auto'.
import { createHash } from 'node:crypto';
import { PostboteError } from '../errors.js';
import type { Pop3Connection } from './connection.js';
import type { Pop3AuthMethod } from './options.js';
import type { Pop3Reply } from './reply.js';
import { toServerReply } from './reply.js';
import { classifyErr } from './resp-codes.js';

// RFC 2449 4: a command line is at most 255 octets with its CRLF; RFC 5034 4: an initial response that
// would exceed it is sent after the server's empty challenge instead. Access tokens (1.5-4 KB) always do.
export const MAX_COMMAND_LINE = 255;

/** The XOAUTH2 initial client response (Google's and Microsoft's format), before base64. */
export function xoauth2Response(user: string, accessToken: string): string {
  return `user=${user}\x01auth=Bearer ${accessToken}\x01\x01`;
}

export interface AuthContext {
  conn: Pop3Connection;
  where: string;
  timeout: number;
  user: string;
  password: string;
  capabilities: ReadonlyMap<string, readonly string[]>;
  /** CAPA answered at all: without it, nothing can be concluded from a missing capability. */
  capaKnown: boolean;
  apopTimestamp: string | undefined;
  /** The server announced PIPELINING: USER and PASS go in one write (RFC 2449 §6.6). */
  pipelining?: boolean;
}

/** Chooses the method for 'auto': SASL PLAIN if offered, else USER/PASS, else APOP, else SASL LOGIN. */
export function chooseAuth(ctx: AuthContext, wanted: Pop3AuthMethod): Exclude<Pop3AuthMethod, 'auto'> {
  if (wanted !== 'auto') return wanted;
  const sasl = ctx.capabilities.get('SASL') ?? [];
  if (sasl.includes('PLAIN')) return 'plain';
  if (!ctx.capaKnown || ctx.capabilities.has('USER')) return 'user';
  if (ctx.apopTimestamp) return 'apop';
  if (sasl.includes('LOGIN')) return 'login';
  throw new PostboteError('POP3_AUTH', 'the server offers no login method Postbote supports', {
    temporary: false,
    where: ctx.where,
    hint: `the server's CAPA lists SASL ${sasl.join(' ') || '(none)'} and no USER; ask the provider which login POP3 clients should use`,
  });
}

export async function authenticate(ctx: AuthContext, wanted: Pop3AuthMethod): Promise<void> {
  const method = chooseAuth(ctx, wanted);
  const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
  switch (method) {
    case 'user': {
      if (!ctx.pipelining) {
        await step(ctx, `USER ${ctx.user}`, undefined, '+OK');
        await step(ctx, `PASS ${ctx.password}`, 'PASS ****', '+OK');
        return;
      }
      // One round trip: a refused USER makes the server refuse PASS too, and the USER error is reported.
      const [user, pass] = ctx.conn.send([
        { line: `USER ${ctx.user}`, timeout: ctx.timeout },
        { line: `PASS ${ctx.password}`, display: 'PASS ****', timeout: ctx.timeout },
      ]);
      pass!.catch(() => undefined);
      expectReply(ctx, await user!, `USER ${ctx.user}`, '+OK');
      expectReply(ctx, await pass!, 'PASS ****', '+OK');
      return;
    }
    case 'apop': {
      if (!ctx.apopTimestamp) {
        throw new PostboteError('POP3_AUTH', 'APOP requested but the greeting carries no timestamp', {
          temporary: false,
          where: ctx.where,
          hint: 'the server does not support APOP: use auth: user or plain',
        });
      }
      const digest = createHash('md5')
        .update(ctx.apopTimestamp + ctx.password, 'utf8')
        .digest('hex');
      await step(ctx, `APOP ${ctx.user} ${digest}`, `APOP ${ctx.user} ****`, '+OK');
      return;
    }
    case 'plain': {
      const reply = await step(
        ctx,
        `AUTH PLAIN ${b64(`\0${ctx.user}\0${ctx.password}`)}`,
        'AUTH PLAIN ****',
        'any',
      );
      // A server that ignores the initial response asks for it with an empty challenge.
      if (reply.status === '+') await step(ctx, b64(`\0${ctx.user}\0${ctx.password}`), '****', '+OK');
      return;
    }
    case 'xoauth2':
      await xoauth2(ctx, b64(xoauth2Response(ctx.user, ctx.password)));
      return;
    case 'login':
      await step(ctx, 'AUTH LOGIN', undefined, '+');
      await step(ctx, b64(ctx.user), '****', '+');
      await step(ctx, b64(ctx.password), '****', '+OK');
      return;
  }
}

async function xoauth2(ctx: AuthContext, response: string): Promise<void> {
  const initial = `AUTH XOAUTH2 ${response}`;
  let reply: Pop3Reply;
  if (initial.length + 2 <= MAX_COMMAND_LINE) {
    reply = await step(ctx, initial, 'AUTH XOAUTH2 ****', 'any');
    // A server that ignores the initial response asks for it with an empty challenge.
    if (reply.status === '+' && reply.text.trim() === '') reply = await step(ctx, response, '****', 'any');
  } else {
    await step(ctx, 'AUTH XOAUTH2', undefined, '+');
    reply = await step(ctx, response, '****', 'any');
  }
  // A refused token gets a challenge carrying the error as base64 JSON; the empty line ends the
  // exchange and the server then answers -ERR, which step() turns into the login error.
  if (reply.status === '+') {
    await step(ctx, '', '(end of XOAUTH2)', '+OK');
    throw new PostboteError('PROTOCOL', 'the server accepted XOAUTH2 after refusing the token', {
      temporary: true,
      where: ctx.where,
    });
  }
  if (reply.status !== '+OK') {
    throw new PostboteError('PROTOCOL', `unexpected "${reply.status}" during login`, {
      temporary: true,
      where: ctx.where,
    });
  }
}

/** Sends one line of the dialogue; anything but the expected status fails the login. */
async function step(
  ctx: AuthContext,
  line: string,
  display: string | undefined,
  expect: '+OK' | '+' | 'any',
) {
  const reply: Pop3Reply = await ctx.conn.command({ line, display: display ?? line, timeout: ctx.timeout });
  return expectReply(ctx, reply, display ?? line, expect);
}

/** Anything but the expected status fails the login. */
function expectReply(ctx: AuthContext, reply: Pop3Reply, display: string, expect: '+OK' | '+' | 'any') {
  if (reply.status === '-ERR') {
    const cls = classifyErr(reply, 'auth');
    throw new PostboteError(cls.code, `login refused: ${reply.text || 'no reason given'}`, {
      temporary: cls.temporary,
      reply: toServerReply(reply),
      command: display,
      where: ctx.where,
      ...(cls.hint ? { hint: cls.hint } : {}),
    });
  }
  if (expect !== 'any' && reply.status !== expect) {
    throw new PostboteError('PROTOCOL', `unexpected "${reply.status}" during login`, {
      temporary: true,
      reply: toServerReply(reply),
      command: display,
      where: ctx.where,
    });
  }
  return reply;
}
