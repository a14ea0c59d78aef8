import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { oauthError, parseEndpointReply, tokenFields } from './token-endpoint.js';

describe('token endpoint replies', () => {
  const cases: Array<[string, number, string, string]> = [
    ['tokens', 200, '{"access_token":"a","expires_in":3599}', 'ok'],
    ['an OAuth error', 400, '{"error":"invalid_grant","error_description":"revoked"}', 'error'],
    ['HTML from a proxy', 502, '<html>bad gateway</html>', 'invalid'],
    ['a JSON array', 200, '[]', 'invalid'],
    ['an error status without an OAuth error', 500, '{}', 'invalid'],
  ];
  for (const [name, status, body, kind] of cases) {
    test(`${name} is ${kind}`, () => assert.equal(parseEndpointReply(status, body).kind, kind));
  }

  test('token fields: expires_in and a rotated refresh token are taken, a missing access token is none', () => {
    assert.deepEqual(tokenFields({ access_token: 'a', expires_in: '3600', refresh_token: 'r' }), {
      accessToken: 'a',
      expiresIn: 3600,
      refreshToken: 'r',
    });
    assert.equal(tokenFields({ token_type: 'Bearer' }), undefined);
  });
});

describe('OAuth error codes', () => {
  const cases: Array<[string, string, boolean]> = [
    ['invalid_grant', 'OAUTH_REVOKED', false],
    ['invalid_client', 'OAUTH_FAILED', false],
    ['unauthorized_client', 'OAUTH_FAILED', false],
    ['invalid_scope', 'OAUTH_FAILED', false],
    ['temporarily_unavailable', 'OAUTH_FAILED', true],
    ['server_error', 'OAUTH_FAILED', true],
    ['something_else', 'OAUTH_FAILED', false],
  ];
  for (const [error, code, temporary] of cases) {
    test(`${error} → ${code}, temporary ${temporary}`, () => {
      const e = oauthError(error, 'words', 'oauth login.example', 'info');
      assert.equal(e.code, code);
      assert.equal(e.temporary, temporary);
      assert.match(e.reply?.text ?? '', new RegExp(`^${error}: words`));
    });
  }

  test('a revoked consent tells to sign in again for that mailbox', () => {
    assert.match(
      oauthError('invalid_grant', undefined, 'x', 'sales').hint ?? '',
      /postbote oauth login --mailbox sales/,
    );
  });
});
