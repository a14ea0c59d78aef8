// Logging in on the server side: checking credentials, taking the maildrop's lock, and the SASL
// PLAIN / LOGIN exchanges (RFC 5034) that span several lines.
import { createHash } from 'node:crypto';
import type { ServerSession } from './session.js';
import type { SaslExchange, SessionState } from './types.js';

type AuthState = Extract<SessionState, { kind: 'AUTHORIZATION' }>;

/** Enters TRANSACTION if the credentials fit and the maildrop is free; replies either way. */
export function login(s: ServerSession, user: string, check: (password: string) => boolean): void {
  const account = s.ctx.users.get(user);
  if (!account || !check(account.password)) {
    s.state = { kind: 'AUTHORIZATION' };
    s.reply(`-ERR ${code(s, 'AUTH')}invalid user name or password`);
    return;
  }
  if (!account.maildrop.lock(s.id)) {
    s.state = { kind: 'AUTHORIZATION' };
    s.reply(`-ERR ${code(s, 'IN-USE')}mailbox is locked by another session`);
    return;
  }
  const snapshot = account.maildrop.current();
  s.state = { kind: 'TRANSACTION', user, maildrop: account.maildrop, snapshot, deleted: new Set() };
  s.reply(`+OK ${user} has ${snapshot.length} messages`);
}

/** "[CODE] " when RESP-CODES is on, else nothing (a server without it sends bare text). */
export function code(s: ServerSession, name: string): string {
  return s.ctx.capabilities.respCodes ? `[${name}] ` : '';
}

export function apopMatches(timestamp: string, password: string, digest: string): boolean {
  return (
    createHash('md5')
      .update(timestamp + password)
      .digest('hex') === digest.toLowerCase()
  );
}

/** AUTH mech [initial-response]. */
export function saslStart(s: ServerSession, args: string): void {
  const [mechRaw, initial] = args.split(' ');
  const mech = (mechRaw ?? '').toUpperCase();
  if (!s.ctx.capabilities.sasl.includes(mech)) {
    s.reply('-ERR unsupported SASL mechanism');
    return;
  }
  const exchange: SaslExchange = mech === 'PLAIN' ? { mech: 'PLAIN' } : { mech: 'LOGIN' };
  const state: AuthState = { kind: 'AUTHORIZATION', sasl: exchange };
  s.state = state;
  if (mech === 'PLAIN' && initial !== undefined && initial !== '=') {
    saslContinue(s, state, initial);
  } else {
    s.reply(mech === 'PLAIN' ? '+ ' : `+ ${b64('Username:')}`);
  }
}

/** One client line of a running SASL exchange; "*" cancels it (RFC 5034 §4). */
export function saslContinue(s: ServerSession, state: AuthState, line: string): void {
  const sasl = state.sasl!;
  if (line === '*') {
    s.state = { kind: 'AUTHORIZATION' };
    s.reply('-ERR authentication cancelled');
    return;
  }
  const decoded = Buffer.from(line, 'base64').toString('utf8');
  if (sasl.mech === 'PLAIN') {
    const [, user = '', password = ''] = decoded.split('\0');
    login(s, user, (p) => p === password);
  } else if (sasl.user === undefined) {
    s.state = { kind: 'AUTHORIZATION', sasl: { mech: 'LOGIN', user: decoded } };
    s.reply(`+ ${b64('Password:')}`);
  } else {
    login(s, sasl.user, (p) => p === decoded);
  }
}

function b64(text: string): string {
  return Buffer.from(text).toString('base64');
}
