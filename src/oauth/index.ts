// OAuth2 sign-in for a configured mailbox: one AccessTokens per mailbox for the process's lifetime, so
// the cached access token survives from pass to pass; a changed oauth2: block (reload) gets a new one.
import type { MailboxConfig } from '../config/index.js';
import { PostboteError } from '../errors.js';
import { AccessTokens } from './access-tokens.js';
import { oauthEndpoints } from './providers.js';
import { type KeySource, loadKey, TokenStore } from './token-store.js';

export { AccessTokens } from './access-tokens.js';
export { pollForToken, requestDeviceCode } from './device-flow.js';
export { oauthEndpoints } from './providers.js';
export { TokenStore } from './token-store.js';

type OAuth2 = NonNullable<MailboxConfig['oauth2']>;

const sources = new Map<string, { settings: string; tokens: AccessTokens }>();

function requireOAuth(mailbox: MailboxConfig): OAuth2 {
  if (!mailbox.oauth2) {
    throw new PostboteError('CONFIG_INVALID', `mailbox ${mailbox.name} has no oauth2: block`, {
      temporary: false,
      hint: 'set auth: oauth2 and an oauth2: block for this mailbox',
    });
  }
  return mailbox.oauth2;
}

function keySource(o: OAuth2): KeySource {
  return o.keyFile !== undefined ? { keyFile: o.keyFile } : { keyEnv: o.keyEnv ?? '' };
}

/** The mailbox's encrypted token file, opened with its configured key. */
export function tokenStoreFor(mailbox: MailboxConfig): TokenStore {
  const o = requireOAuth(mailbox);
  return new TokenStore(o.tokenFile, loadKey(keySource(o)), mailbox.name);
}

export function accessTokensFor(mailbox: MailboxConfig): AccessTokens {
  const o = requireOAuth(mailbox);
  const settings = JSON.stringify([o, mailbox.protocol]);
  const known = sources.get(mailbox.name);
  if (known && known.settings === settings) return known.tokens;
  const tokens = new AccessTokens({
    mailbox: mailbox.name,
    endpoints: oauthEndpoints(o, mailbox.protocol),
    clientId: o.clientId,
    ...(o.clientSecret === undefined ? {} : { clientSecret: o.clientSecret }),
    store: tokenStoreFor(mailbox),
  });
  sources.set(mailbox.name, { settings, tokens });
  return tokens;
}

/**
 * A login refused although the provider just issued the token: the token is forgotten (the next try
 * refreshes) and the hint names the usual causes instead of a password.
 */
export function oauthLoginRefused(err: unknown, mailbox: MailboxConfig): unknown {
  if (!(err instanceof PostboteError) || (err.code !== 'POP3_AUTH' && err.code !== 'IMAP_AUTH')) return err;
  accessTokensFor(mailbox).invalidate();
  return new PostboteError(err.code, `${err.message} (OAuth2 access token refused)`, {
    temporary: err.temporary,
    ...(err.reply ? { reply: err.reply } : {}),
    ...(err.command ? { command: err.command } : {}),
    ...(err.where ? { where: err.where } : {}),
    cause: err,
    hint: `check that ${mailbox.protocol.toUpperCase()} access is enabled for ${mailbox.user} and the app has the ${mailbox.protocol === 'imap' ? 'IMAP' : 'POP'} permission; if consent was withdrawn run \`postbote oauth login --mailbox ${mailbox.name}\``,
  });
}
