// The oauth2 mailbox keys: accepted shapes, where the token file goes, and the refusals with their line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, parseConfig } from './index.js';

const yaml = (mailbox: string, state = './data') => `
state: ${state}
target: { host: mx.corp.local }
mailboxes:
  - name: office
    protocol: imap
    host: outlook.office365.com
    user: info@example.com
    deliverTo: [a@corp.local]
${mailbox
  .split('\n')
  .filter(Boolean)
  .map((l) => `    ${l}`)
  .join('\n')}
`;
const parse = (mailbox: string, state?: string) =>
  parseConfig(yaml(mailbox, state), { file: 'p.yaml', baseDir: '/etc/postbote', env: {} }).mailboxes[0]!;
const refusal = (mailbox: string) => {
  try {
    parse(mailbox);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('accepted');
};

test('auth: oauth2 needs no password; the token file is in the state folder, the key file absolute', () => {
  const m = parse(`auth: oauth2
oauth2: { provider: microsoft, tenant: contoso.com, clientId: abc, keyFile: oauth.key }`);
  assert.equal(m.auth, 'oauth2');
  assert.equal(m.password, '');
  assert.deepEqual(m.oauth2, {
    provider: 'microsoft',
    tenant: 'contoso.com',
    clientId: 'abc',
    keyFile: '/etc/postbote/oauth.key',
    tokenFile: '/etc/postbote/data/oauth/office.token',
  });
});

test('with a postgres state the token file goes to the local spool folder', () => {
  const m = parse(
    `auth: oauth2
oauth2: { provider: google, clientId: abc, keyEnv: OAUTH_KEY }`,
    'postgres://u@db/postbote\nspool: /var/lib/postbote',
  );
  assert.equal(m.oauth2?.tokenFile, '/var/lib/postbote/oauth/office.token');
});

test('refusals name the key and the fix', () => {
  assert.match(refusal('auth: oauth2'), /oauth2: auth: oauth2 needs an oauth2: block/);
  assert.match(
    refusal('password: p\noauth2: { provider: google, clientId: a, keyEnv: K }'),
    /an oauth2: block needs auth: oauth2/,
  );
  assert.match(
    refusal('auth: oauth2\noauth2: { provider: google, clientId: a }'),
    /keyFile or keyEnv is required/,
  );
  assert.match(
    refusal('auth: oauth2\noauth2: { provider: generic, clientId: a, keyEnv: K }'),
    /provider generic needs deviceEndpoint/,
  );
  assert.match(
    refusal(
      'auth: oauth2\noauth2: { provider: generic, clientId: a, keyEnv: K, deviceEndpoint: "http://idp.example/d", tokenEndpoint: "https://idp.example/t", scopes: [mail] }',
    ),
    /deviceEndpoint: expected an https:\/\/ URL/,
  );
  assert.match(
    refusal('auth: oauth2\npassword: p\noauth2: { provider: google, clientId: a, keyEnv: K }'),
    /signs in with a token, not a password/,
  );
});

test('a generic provider on loopback may use http', () => {
  const m = parse(`auth: oauth2
oauth2: { provider: generic, clientId: a, keyEnv: K, deviceEndpoint: "http://127.0.0.1:8080/d", tokenEndpoint: "http://localhost:8080/t", scopes: [mail] }`);
  assert.equal(m.oauth2?.tokenEndpoint, 'http://localhost:8080/t');
});
