// An `auth: oauth2` IMAP mailbox on the scripted IMAP server, signed in at the loopback OAuth2 provider
// (a refresh token stored as `postbote oauth login` leaves it): for the IDLE watcher and the web's
// mailbox test, which must log in with the stored sign-in, never a password.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { type Config, type MailboxConfig, parseConfig } from '../../src/config/index.js';
import { tokenStoreFor } from '../../src/oauth/index.js';
import { type FakeProvider, startFakeProvider } from '../support/oauth-provider.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type FakeImap, startFakeImap } from './imap-fake-server.js';

export interface OAuthImapWorld {
  provider: FakeProvider;
  imap: FakeImap;
  tmp: TempDir;
  config: Config;
  /** The oauth2 mailbox `cloud`. */
  mailbox: MailboxConfig;
  /** Whether the provider issued `token` and it is still valid (its introspection endpoint). */
  live(token: string): Promise<boolean>;
  /** Refresh requests the provider answered so far. */
  refreshes(): number;
  close(): Promise<void>;
}

/** `lifetime` under REFRESH_MARGIN_MS (5 min) makes every access-token request a refresh. */
export async function oauthImapWorld(o: { lifetime?: number } = {}): Promise<OAuthImapWorld> {
  const provider = await startFakeProvider({ user: 'alice', rotate: true, lifetime: o.lifetime ?? 3600 });
  const imap = await startFakeImap([]);
  const tmp = await makeTempDir('postbote-oauth-imap-');
  writeFileSync(`${tmp.path}/oauth.key`, randomBytes(32).toString('base64'), { mode: 0o600 });
  const config = parseConfig(
    `
state: ${tmp.path}/state
target: { host: 127.0.0.1, port: 2525, tls: none, helo: postbote.test }
scheduler: { interval: 1h }
mailboxes:
  - name: cloud
    protocol: imap
    host: 127.0.0.1
    port: ${imap.port}
    tls: none
    user: alice@example.com
    idle: true
    deliverTo: [alice@corp.local]
    auth: oauth2
    oauth2:
      provider: generic
      clientId: postbote-test
      deviceEndpoint: ${provider.deviceEndpoint}
      tokenEndpoint: ${provider.tokenEndpoint}
      scopes: [mail, offline_access]
      keyFile: oauth.key
`,
    { file: 'postbote.yaml', baseDir: tmp.path },
  );
  const mailbox = config.mailboxes[0]!;
  tokenStoreFor(mailbox).write({ refreshToken: provider.issueRefreshToken(), obtainedAt: Date.now() });
  return {
    provider,
    imap,
    tmp,
    config,
    mailbox,
    async live(token) {
      const res = await fetch(provider.introspectionUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      });
      return ((await res.json()) as { active: boolean }).active;
    },
    refreshes: () => provider.requests.filter((r) => r.form.grant_type === 'refresh_token').length,
    async close() {
      await imap.stop();
      await provider.close();
      await tmp.remove();
    },
  };
}
