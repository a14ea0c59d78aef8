// Types shared by the in-process POP3 server's modules: options, hooks and the session state union.
import type { Maildrop, StoredMessage } from './maildrop.js';

export interface Pop3ServerUser {
  password: string;
  messages: Buffer[] | Maildrop;
}

/** Capabilities to advertise (and honour). Each defaults to on; STLS only when TLS is configured. */
export interface Pop3ServerCapabilities {
  capa?: boolean;
  stls?: boolean;
  pipelining?: boolean;
  uidl?: boolean;
  top?: boolean;
  user?: boolean;
  respCodes?: boolean;
  apop?: boolean;
  /** SASL mechanisms offered; default ['PLAIN', 'LOGIN']; [] offers none. */
  sasl?: string[];
}

export interface CommandHookContext {
  sessionId: number;
  /** The user once known (after USER or a successful login). */
  user: string | undefined;
  command: string;
  args: string;
  state: SessionState['kind'];
}

/** What a hook may do to a command: answer it instead, drop the connection, or never answer. */
export type HookVerdict = undefined | { reply: string } | 'drop' | 'stall';

export interface Pop3ServerHooks {
  /** Called for every command before it runs (including STLS, USER, PASS; SASL responses excluded). */
  onCommand?: (ctx: CommandHookContext) => HookVerdict;
  /** Drop the connection after sending this many octets of a RETR body. */
  retrCutAfter?: number;
}

export interface Pop3ServerOptions {
  host?: string;
  port?: number;
  /** Enables STLS (or, with implicitTls, makes the port POP3S). */
  tls?: { key: string | Buffer; cert: string | Buffer; implicitTls?: boolean };
  users: Record<string, Pop3ServerUser> | Map<string, Pop3ServerUser>;
  capabilities?: Pop3ServerCapabilities;
  hooks?: Pop3ServerHooks;
}

export type SaslExchange = { mech: 'PLAIN' } | { mech: 'LOGIN'; user?: string };

/** RFC 1939's three states, each with the data it needs. */
export type SessionState =
  | { kind: 'AUTHORIZATION'; user?: string; sasl?: SaslExchange }
  | {
      kind: 'TRANSACTION';
      user: string;
      maildrop: Maildrop;
      /** The mailbox as it was at login: message n is snapshot[n - 1] for the whole session. */
      snapshot: readonly StoredMessage[];
      deleted: Set<number>;
    }
  | { kind: 'UPDATE' };
