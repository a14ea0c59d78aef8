// The login part of the mapping to imapflow: a password, a forced method, or an OAuth2 access token.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../log.js';
import { flowOptions, type ImapOptions } from './options.js';

const base: ImapOptions = {
  host: 'imap.example',
  port: 993,
  tls: 'tls',
  tlsVerify: true,
  user: 'info@example.com',
  password: 'secret',
  auth: 'auto',
  folders: ['INBOX'],
  exclude: [],
  afterDelivery: 'delete',
  timeouts: {},
  logger: silentLogger(),
};

test('auth oauth2 hands imapflow the access token (OAUTHBEARER or XOAUTH2), never as a password', () => {
  assert.deepEqual(flowOptions({ ...base, auth: 'oauth2', password: 'ya29.token' }).auth, {
    user: 'info@example.com',
    accessToken: 'ya29.token',
  });
});

test('password logins keep their method', () => {
  assert.deepEqual(flowOptions(base).auth, { user: 'info@example.com', pass: 'secret' });
  assert.deepEqual(flowOptions({ ...base, auth: 'login' }).auth, {
    user: 'info@example.com',
    pass: 'secret',
    loginMethod: 'LOGIN',
  });
});
