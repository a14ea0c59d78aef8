// Logging in (AUTHORIZATION state): USER/PASS and APOP (RFC 1939), SASL PLAIN with an initial response
// and LOGIN (RFC 5034). Picks a method from CAPA and the greeting when asked for 'auto'.
import { createHash } from 'node:crypto';
import { PostboteError } from '../errors.js';
import type { Pop3Connection } from './connection.js';
import type { Pop3AuthMethod } from './options.js';
import type { Pop3Reply } from './reply.js';
import { toServerReply } from './reply.js';
import { classifyErr } from './resp-codes.js';

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
    case 'user':
      await step(ctx, `USER ${ctx.user}`, undefined, '+OK');
      await step(ctx, `PASS ${ctx.password}`, 'PASS ****', '+OK');
      return;
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
    case 'login':
      await step(ctx, 'AUTH LOGIN', undefined, '+');
      await step(ctx, b64(ctx.user), '****', '+');
      await step(ctx, b64(ctx.password), '****', '+OK');
      return;
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
  if (reply.status === '-ERR') {
    const cls = classifyErr(reply, 'auth');
    throw new PostboteError(cls.code, `login refused: ${reply.text || 'no reason given'}`, {
      temporary: cls.temporary,
      reply: toServerReply(reply),
      command: display ?? line,
      where: ctx.where,
      ...(cls.hint ? { hint: cls.hint } : {}),
    });
  }
  if (expect !== 'any' && reply.status !== expect) {
    throw new PostboteError('PROTOCOL', `unexpected "${reply.status}" during login`, {
      temporary: true,
      reply: toServerReply(reply),
      command: display ?? line,
      where: ctx.where,
    });
  }
  return reply;
}
