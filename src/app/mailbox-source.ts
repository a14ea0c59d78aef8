// A mailbox's provider side: opening its session (POP3, or IMAP loaded on use; with auth: oauth2 an
// access token for the password) and its IMAP IDLE push for the scheduler.
import type { MailboxConfig } from '../config/index.js';
import { DEFAULT_EXCLUDE } from '../imap/folders.js';
import type { ImapOptions } from '../imap/index.js';
import type { Logger } from '../log.js';
import { openPop3 } from '../pop3/client.js';
import type { PushSource } from '../scheduler/push.js';
import type { SourceSession } from '../source/types.js';

/** Where and as whom a session logs in: the same fields for POP3 and IMAP. */
function server(mailbox: MailboxConfig) {
  return {
    host: mailbox.host,
    port: mailbox.port,
    tls: mailbox.tls,
    tlsVerify: mailbox.tlsVerify,
    ca: mailbox.caPem,
    servername: mailbox.servername,
    user: mailbox.user,
  };
}

/** The IMAP client's options from a mailbox (the password is replaced by a token for auth: oauth2). */
function imapOptions(mailbox: MailboxConfig, logger: Logger): ImapOptions {
  return {
    ...server(mailbox),
    password: mailbox.password,
    auth: mailbox.auth,
    folders: mailbox.folders ?? ['INBOX'],
    exclude: mailbox.exclude ?? [...DEFAULT_EXCLUDE],
    afterDelivery: mailbox.afterDelivery ?? 'delete',
    timeouts: mailbox.timeouts,
    logger: logger.child({ component: 'imap', mailbox: mailbox.name }),
  };
}

/** IMAP IDLE push for the scheduler (src/imap/watch.ts), unless `idle: false`. */
export function pushSource(mailbox: MailboxConfig, logger: Logger): PushSource | undefined {
  if (mailbox.protocol !== 'imap' || mailbox.idle === false) return undefined;
  const o = imapOptions(mailbox, logger);
  const { logger: _, ...watched } = o;
  return {
    key: JSON.stringify({ ...watched, idle: mailbox.idle }),
    host: mailbox.host,
    start: (s) => {
      // imapflow is loaded only for IMAP mailboxes; an OAuth2 mailbox logs in with a fresh token each time.
      const watching = import('../imap/watch.js').then(({ watchImap }) =>
        watchImap({
          ...o,
          ...s,
          mode: mailbox.idle ? 'always' : 'auto',
          ...(mailbox.auth === 'oauth2'
            ? { credentials: async () => (await oauth()).accessTokensFor(mailbox).get() }
            : {}),
        }),
      );
      watching.catch((err: Error) =>
        logger.error({ err: err.message }, `mailbox ${mailbox.name}: the IMAP watch could not start`),
      );
      return { stop: async () => (await watching.catch(() => undefined))?.stop() };
    },
  };
}

/**
 * `pipelining: false` reads the mailbox one command at a time (after a POP3_DESYNC). With auth: oauth2
 * the password is an access token from src/oauth/ (refreshed when due; a revoked consent is OAUTH_REVOKED).
 * The IMAP client (imapflow and its MIME libraries, ~20 MB) is loaded only when a mailbox uses IMAP.
 */
export async function openSource(
  mailbox: MailboxConfig,
  logger: Logger,
  session: { pipelining?: boolean; maxMessageSize?: number } = {},
): Promise<SourceSession> {
  if (mailbox.auth !== 'oauth2') return openWith(mailbox, mailbox.password, logger, session);
  const { accessTokensFor, oauthLoginRefused } = await oauth();
  const token = await accessTokensFor(mailbox).get();
  try {
    return await openWith(mailbox, token, logger, session);
  } catch (err) {
    throw oauthLoginRefused(err, mailbox);
  }
}

/** OAuth2 (token store, endpoints, providers) loads for the first auth: oauth2 mailbox only. */
function oauth(): Promise<typeof import('../oauth/index.js')> {
  return import('../oauth/index.js');
}

async function openWith(
  mailbox: MailboxConfig,
  password: string,
  logger: Logger,
  session: { pipelining?: boolean; maxMessageSize?: number },
): Promise<SourceSession> {
  if (mailbox.protocol === 'imap') {
    const { openImap } = await import('../imap/index.js');
    // IMAP has no pipelined RETR to turn off: `session` does not apply.
    return openImap({ ...imapOptions(mailbox, logger), password });
  }
  return openPop3({
    ...server(mailbox),
    password,
    auth: mailbox.auth === 'oauth2' ? 'xoauth2' : mailbox.auth,
    timeouts: mailbox.timeouts,
    // A session may only raise the limit (to fetch released messages), never lower it.
    maxMessageSize:
      session.maxMessageSize === undefined
        ? mailbox.maxMessageSize
        : Math.max(session.maxMessageSize, mailbox.maxMessageSize ?? Number.POSITIVE_INFINITY),
    logger: logger.child({ component: 'pop3', mailbox: mailbox.name }),
    // Every caller (pass, check, route) lists first: the listing goes with the CAPA after login.
    listOnLogin: true,
    ...(session.pipelining === false ? { pipelining: false } : {}),
  });
}
