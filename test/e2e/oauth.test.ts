// OAuth2 end to end: `postbote oauth login` through the device-code flow of a provider on loopback,
// then real XOAUTH2 (POP3, a 2 KB token sent after the empty challenge) and OAUTHBEARER (IMAP) logins
// to a Dovecot whose oauth2 passdb asks the same provider's introspection endpoint; a revoked consent
// is reported by `check` with the command that fixes it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { makeMessage } from '../support/corpus.js';
import { type Dovecot, dovecotUnavailable, startDovecot } from '../support/dovecot.js';
import { type FakeProvider, startFakeProvider } from '../support/oauth-provider.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { runCli, writeConfig } from './helpers.js';

describe('OAuth2 sign-in against Dovecot', { skip: dovecotUnavailable() }, () => {
  let provider: FakeProvider;
  let dovecot: Dovecot;
  let receiver: Receiver;
  let tmp: TempDir;
  let file: string;

  before(async () => {
    // 2 KB tokens, as Entra ID issues: beyond the 255-octet POP3 command line.
    provider = await startFakeProvider({ user: 'alice', accessTokenLength: 2048, rotate: true });
    dovecot = await startDovecot({
      users: ['alice'],
      name: 'oauth',
      oauth2: { introspectionUrl: provider.introspectionUrl },
    });
    receiver = await startReceiver();
    tmp = await makeTempDir('postbote-oauth-');
    writeFileSync(`${tmp.path}/oauth.key`, randomBytes(32).toString('base64'), { mode: 0o600 });
    const oauth2 = `auth: oauth2
    oauth2:
      provider: generic
      clientId: postbote-test
      deviceEndpoint: ${provider.deviceEndpoint}
      tokenEndpoint: ${provider.tokenEndpoint}
      scopes: [mail, offline_access]
      keyFile: oauth.key`;
    file = await writeConfig(
      tmp.path,
      `
state: ${tmp.path}/state
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
mailboxes:
  - name: pop
    host: localhost
    port: ${dovecot.ports.pop3s}
    tls: tls
    ca: ${dovecot.caFile}
    user: alice
    keep: true
    deliverTo: [pop@corp.local]
    ${oauth2}
  - name: imap
    protocol: imap
    host: localhost
    port: ${dovecot.ports.imaps}
    tls: tls
    ca: ${dovecot.caFile}
    user: alice
    keep: true
    deliverTo: [imap@corp.local]
    ${oauth2}
`,
    );
  });
  after(async () => {
    await dovecot?.stop();
    await receiver?.stop();
    await provider?.close();
    await tmp?.remove();
  });

  test('oauth login runs the device flow and stores the refresh token encrypted, mode 0600', async () => {
    provider.setPolls(['authorization_pending', 'ok']);
    const login = await runCli(['oauth', 'login', '-c', file, '--mailbox', 'pop']);
    assert.equal(login.code, 0, login.stderr + login.stdout);
    assert.match(login.stdout, /open https:\/\/example\.test\/device/);
    assert.match(login.stdout, /enter the code WDJB-MJHT/);
    const tokenFile = `${tmp.path}/state/oauth/pop.token`;
    assert.ok(existsSync(tokenFile));
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    assert.doesNotMatch(readFileSync(tokenFile, 'utf8'), /rt-/, 'no refresh token in clear');
    const again = await runCli(['oauth', 'login', '-c', file, '--mailbox', 'imap']);
    assert.equal(again.code, 0, again.stderr + again.stdout);
  });

  test('POP3 XOAUTH2 and IMAP OAUTHBEARER log in with refreshed tokens and fetch', async () => {
    await dovecot.seed('alice', [makeMessage({ size: 2000, seed: 1, subject: 'oauth one' })]);
    const r = await runCli(['fetch', '-c', file, '--json']);
    assert.equal(r.code, 0, `${r.stderr}${r.stdout}\n${dovecot.log()}`);
    const summary = JSON.parse(r.stdout) as { mailboxes: Array<{ name?: string; delivered: number }> };
    assert.deepEqual(
      summary.mailboxes.map((m) => m.delivered),
      [1, 1],
    );
    const log = dovecot.log();
    assert.match(log, /pop3-login: Info: Login: user=<alice>, method=XOAUTH2/);
    assert.match(log, /imap-login: Info: Login: user=<alice>, method=OAUTHBEARER/);
  });

  test('check reports a revoked consent as OAUTH_REVOKED with the login command', async () => {
    const ok = await runCli(['check', '-c', file, '--json']);
    const mailboxes = (out: string) =>
      (
        JSON.parse(out) as { results: Array<{ subject: string; ok: boolean; detail: string; hint?: string }> }
      ).results.filter((x) => x.subject.startsWith('mailbox'));
    assert.ok(
      mailboxes(ok.stdout).every((m) => m.ok),
      ok.stdout,
    );
    provider.revoke();
    const r = await runCli(['check', '-c', file, '--json']);
    assert.equal(r.code, 1);
    for (const m of mailboxes(r.stdout)) {
      assert.equal(m.ok, false);
      assert.match(m.detail, /no longer accepts the stored sign-in.*invalid_grant/);
      assert.match(m.hint ?? '', /run `postbote oauth login --mailbox (pop|imap)` again/);
    }
  });
});
