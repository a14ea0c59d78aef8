import assert from 'node:assert/strict';
import { test } from 'node:test';
import { oauthEndpoints } from './providers.js';

test('microsoft preset: tenant endpoints, the protocol scope and offline_access', () => {
  assert.deepEqual(
    oauthEndpoints({ provider: 'microsoft', tenant: 'contoso.onmicrosoft.com', clientId: 'c' }, 'pop3'),
    {
      deviceEndpoint: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode',
      tokenEndpoint: 'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
      scopes: ['https://outlook.office.com/POP.AccessAsUser.All', 'offline_access'],
    },
  );
  assert.deepEqual(oauthEndpoints({ provider: 'microsoft', clientId: 'c' }, 'imap').scopes, [
    'https://outlook.office.com/IMAP.AccessAsUser.All',
    'offline_access',
  ]);
});

test('google preset', () => {
  assert.deepEqual(oauthEndpoints({ provider: 'google', clientId: 'c' }, 'imap'), {
    deviceEndpoint: 'https://oauth2.googleapis.com/device/code',
    tokenEndpoint: 'https://oauth2.googleapis.com/token',
    scopes: ['https://mail.google.com/'],
  });
});

test('generic: its own endpoints and scopes', () => {
  const s = {
    provider: 'generic' as const,
    clientId: 'c',
    deviceEndpoint: 'https://a/d',
    tokenEndpoint: 'https://a/t',
    scopes: ['mail'],
  };
  assert.deepEqual(oauthEndpoints(s, 'pop3'), {
    deviceEndpoint: 'https://a/d',
    tokenEndpoint: 'https://a/t',
    scopes: ['mail'],
  });
});
