// What an IMAP session needs from the configuration, and the mapping to imapflow's options.
import { rootCertificates } from 'node:tls';
import type { ImapFlowOptions } from 'imapflow';
import type { Logger } from '../log.js';

export type AfterDelivery = 'delete' | { moveTo: string };

export interface ImapOptions {
  host: string;
  port: number;
  tls: 'none' | 'starttls' | 'tls';
  tlsVerify: boolean;
  ca?: string;
  servername?: string;
  user: string;
  /** With auth 'oauth2': the OAuth2 access token. */
  password: string;
  /** oauth2: SASL OAUTHBEARER when the server offers it, else XOAUTH2 (imapflow's choice). */
  auth: 'auto' | 'plain' | 'login' | 'user' | 'apop' | 'oauth2';
  /** Folder names or LIST patterns (`*`, `%`). */
  folders: string[];
  /** Special-use flags (`\Sent`) or folder names/patterns a wildcard skips. */
  exclude: string[];
  afterDelivery: AfterDelivery;
  timeouts: { connect?: number; greeting?: number; command?: number; idle?: number; message?: number };
  logger: Logger;
}

// A 1 MiB window per FETCH: memory stays a few MiB for any message size, and a 200 MB message costs
// 200 round trips (a few ms each) instead of 3,200 at imapflow's 64 KiB.
export const FETCH_CHUNK = 1024 * 1024;
// Largest literal accepted: a fetch window, a header block (spool keeps 256 KiB) or a server that ignores
// the partial range for a mid-size message fit; a server announcing more is dropped before it costs memory.
export const MAX_LITERAL = 16 * 1024 * 1024;
// Defaults as for POP3: a provider that says nothing for this long is gone.
const CONNECT_TIMEOUT_MS = 30_000;
const GREETING_TIMEOUT_MS = 30_000;
const SOCKET_IDLE_MS = 120_000;

export function flowOptions(o: ImapOptions): ImapFlowOptions {
  const loginMethod = o.auth === 'plain' ? 'AUTH=PLAIN' : o.auth === 'login' ? 'LOGIN' : undefined;
  return {
    host: o.host,
    port: o.port,
    secure: o.tls === 'tls',
    // starttls: TLS or nothing (no password before TLS); none: never upgrade (a trusted network).
    doSTARTTLS: o.tls === 'starttls' ? true : o.tls === 'none' ? false : undefined,
    servername: o.servername,
    auth:
      o.auth === 'oauth2'
        ? { user: o.user, accessToken: o.password }
        : { user: o.user, pass: o.password, ...(loginMethod ? { loginMethod } : {}) },
    tls: {
      rejectUnauthorized: o.tlsVerify,
      ...(o.ca ? { ca: [...rootCertificates, o.ca] } : {}),
      ...(o.servername ? { servername: o.servername } : {}),
    },
    logger: flowLogger(o.logger),
    clientInfo: { name: 'Postbote' },
    // A pass is a short session: no IDLE between its commands (IDLE push is a separate mode).
    disableAutoIdle: true,
    // BINARY.PEEK[] would hand out decoded content; the spool must hold the message as stored.
    disableBinary: true,
    connectionTimeout: o.timeouts.connect ?? CONNECT_TIMEOUT_MS,
    greetingTimeout: o.timeouts.greeting ?? GREETING_TIMEOUT_MS,
    socketTimeout: o.timeouts.idle ?? o.timeouts.command ?? SOCKET_IDLE_MS,
    maxLiteralSize: MAX_LITERAL,
    maxResponseSize: 2 * MAX_LITERAL,
  };
}

/** imapflow logs objects with `msg`; its debug lines are the protocol commands (passwords hidden by it). */
function flowLogger(logger: Logger): NonNullable<ImapFlowOptions['logger']> {
  const at =
    (level: 'debug' | 'warn') =>
    (obj: unknown): void => {
      const { msg, ...rest } = (obj ?? {}) as { msg?: string };
      logger[level](rest, msg ?? '');
    };
  return { debug: at('debug'), info: at('debug'), warn: at('warn'), error: at('warn') };
}
