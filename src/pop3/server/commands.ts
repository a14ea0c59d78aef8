// The server's command table: each verb with the states it is valid in, the capability that switches
// it on, and its handler. Dispatch goes only through this map, never through names built from input.
import type { StoredMessage } from './maildrop.js';
import { apopMatches, login, saslStart } from './sasl.js';
import type { ServerSession } from './session.js';
import { stuffMessage, topOf } from './stuff.js';
import type { Pop3ServerCapabilities, SessionState } from './types.js';

type Caps = Required<Pop3ServerCapabilities>;
type Transaction = Extract<SessionState, { kind: 'TRANSACTION' }>;

interface CommandEntry {
  states: ReadonlyArray<SessionState['kind']>;
  enabled: (caps: Caps) => boolean;
  /** Returns 'tls' when the connection switched to TLS and the rest of the input must be dropped. */
  handler: (s: ServerSession, args: string) => unknown;
}

const always = () => true;
const AUTH_ONLY = ['AUTHORIZATION'] as const;
const TRANS_ONLY = ['TRANSACTION'] as const;

/** The transaction state (the table guarantees it) and message n of the snapshot, if it exists. */
function pick(
  s: ServerSession,
  arg: string,
): { t: Transaction; n: number; message: StoredMessage } | undefined {
  const t = s.state as Transaction;
  const n = Number(arg);
  const message = /^\d+$/.test(arg) ? t.snapshot[n - 1] : undefined;
  if (!message || t.deleted.has(n)) {
    s.reply(`-ERR no such message`);
    return undefined;
  }
  return { t, n, message };
}

/** LIST / UIDL: one message with an argument, all undeleted messages as a multi-line reply without. */
function listing(s: ServerSession, args: string, value: (m: StoredMessage) => string): void {
  if (args.trim()) {
    const p = pick(s, args.trim());
    if (p) s.reply(`+OK ${p.n} ${value(p.message)}`);
    return;
  }
  const t = s.state as Transaction;
  const lines = t.snapshot.flatMap((m, i) => (t.deleted.has(i + 1) ? [] : [`${i + 1} ${value(m)}\r\n`]));
  s.replyMulti('+OK', Buffer.from(`${lines.join('')}.\r\n`, 'latin1'));
}

function capaLines(s: ServerSession): string[] {
  const c = s.ctx.capabilities;
  const lines = ['CAPA'];
  if (c.top) lines.push('TOP');
  if (c.uidl) lines.push('UIDL');
  if (c.user) lines.push('USER');
  if (c.respCodes) lines.push('RESP-CODES', 'AUTH-RESP-CODE');
  if (c.pipelining) lines.push('PIPELINING');
  if (c.sasl.length > 0) lines.push(`SASL ${c.sasl.join(' ')}`);
  if (c.stls && !s.secure && s.state.kind === 'AUTHORIZATION') lines.push('STLS');
  lines.push('IMPLEMENTATION postbote-test-server');
  return lines;
}

export const COMMANDS: ReadonlyMap<string, CommandEntry> = new Map<string, CommandEntry>([
  [
    'CAPA',
    {
      states: ['AUTHORIZATION', 'TRANSACTION'],
      enabled: (c) => c.capa,
      handler: (s) => s.replyMulti('+OK', Buffer.from(`${capaLines(s).join('\r\n')}\r\n.\r\n`)),
    },
  ],
  [
    'STLS',
    {
      states: AUTH_ONLY,
      enabled: (c) => c.stls,
      handler: (s) => {
        if (s.secure) return s.reply('-ERR already using TLS');
        s.reply('+OK begin TLS negotiation');
        s.startTls();
        return 'tls';
      },
    },
  ],
  [
    'USER',
    {
      states: AUTH_ONLY,
      enabled: (c) => c.user,
      handler: (s, args) => {
        s.state = { kind: 'AUTHORIZATION', user: args };
        s.reply('+OK send PASS');
      },
    },
  ],
  [
    'PASS',
    {
      states: AUTH_ONLY,
      enabled: (c) => c.user,
      handler: (s, args) => {
        const user = s.state.kind === 'AUTHORIZATION' ? s.state.user : undefined;
        if (user === undefined) return s.reply('-ERR USER first');
        login(s, user, (p) => p === args);
      },
    },
  ],
  [
    'APOP',
    {
      states: AUTH_ONLY,
      enabled: (c) => c.apop,
      handler: (s, args) => {
        const [user = '', digest = ''] = args.split(' ');
        login(s, user, (p) => apopMatches(s.timestamp, p, digest));
      },
    },
  ],
  [
    'AUTH',
    { states: AUTH_ONLY, enabled: (c) => c.sasl.length > 0, handler: (s, args) => saslStart(s, args) },
  ],
  [
    'STAT',
    {
      states: TRANS_ONLY,
      enabled: always,
      handler: (s) => {
        const t = s.state as Transaction;
        const kept = t.snapshot.filter((_, i) => !t.deleted.has(i + 1));
        s.reply(`+OK ${kept.length} ${kept.reduce((sum, m) => sum + m.data.length, 0)}`);
      },
    },
  ],
  [
    'LIST',
    {
      states: TRANS_ONLY,
      enabled: always,
      handler: (s, args) => listing(s, args, (m) => String(m.data.length)),
    },
  ],
  [
    'UIDL',
    { states: TRANS_ONLY, enabled: (c) => c.uidl, handler: (s, args) => listing(s, args, (m) => m.uid) },
  ],
  [
    'RETR',
    {
      states: TRANS_ONLY,
      enabled: always,
      handler: (s, args) => {
        const p = pick(s, args.trim());
        if (p) s.replyRetr(`+OK ${p.message.data.length} octets`, stuffMessage(p.message.data));
      },
    },
  ],
  [
    'TOP',
    {
      states: TRANS_ONLY,
      enabled: (c) => c.top,
      handler: (s, args) => {
        const [num = '', lines = ''] = args.trim().split(/\s+/);
        if (!/^\d+$/.test(lines)) return s.reply('-ERR usage: TOP msg n');
        const p = pick(s, num);
        if (p) s.replyMulti('+OK', stuffMessage(topOf(p.message.data, Number(lines))));
      },
    },
  ],
  [
    'DELE',
    {
      states: TRANS_ONLY,
      enabled: always,
      handler: (s, args) => {
        const p = pick(s, args.trim());
        if (!p) return;
        p.t.deleted.add(p.n);
        s.reply(`+OK message ${p.n} deleted`);
      },
    },
  ],
  ['NOOP', { states: TRANS_ONLY, enabled: always, handler: (s) => s.reply('+OK') }],
  [
    'RSET',
    {
      states: TRANS_ONLY,
      enabled: always,
      handler: (s) => {
        (s.state as Transaction).deleted.clear();
        s.reply('+OK');
      },
    },
  ],
  [
    'QUIT',
    {
      states: ['AUTHORIZATION', 'TRANSACTION'],
      enabled: always,
      handler: (s) => {
        const state = s.state;
        s.state = { kind: 'UPDATE' };
        if (state.kind === 'TRANSACTION') {
          const uids = new Set([...state.deleted].map((n) => state.snapshot[n - 1]!.uid));
          state.maildrop.commitDeletes(uids);
          state.maildrop.unlock(s.id);
        }
        s.end('+OK bye');
      },
    },
  ],
]);
