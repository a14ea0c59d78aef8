import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imapError } from './errors.js';

const where = 'imap imap.example:993';

test('maps imapflow failures to typed errors with temporary and the server words', () => {
  const cases: Array<[string, object, string, boolean, string | undefined]> = [
    [
      'auth',
      {
        authenticationFailed: true,
        responseStatus: 'NO',
        responseText: 'bad',
        serverResponseCode: 'AUTHENTICATIONFAILED',
      },
      'IMAP_AUTH',
      false,
      'AUTHENTICATIONFAILED',
    ],
    [
      'overquota',
      { responseStatus: 'NO', responseText: 'Quota exceeded', serverResponseCode: 'OVERQUOTA' },
      'IMAP_UNAVAILABLE',
      true,
      'OVERQUOTA',
    ],
    [
      'unavailable',
      { responseStatus: 'NO', responseText: 'try later', serverResponseCode: 'UNAVAILABLE' },
      'IMAP_UNAVAILABLE',
      true,
      'UNAVAILABLE',
    ],
    ['bye', { responseStatus: 'BYE', responseText: 'shutting down' }, 'IMAP_UNAVAILABLE', true, undefined],
    ['plain NO', { responseStatus: 'NO', responseText: 'no such message' }, 'IMAP_COMMAND', true, undefined],
    ['BAD', { responseStatus: 'BAD', responseText: 'syntax' }, 'IMAP_COMMAND', false, undefined],
    [
      'cert',
      { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self-signed certificate' },
      'TLS_FAILED',
      false,
      undefined,
    ],
    ['timeout', { code: 'ETIMEOUT', message: 'Socket timeout' }, 'TIMEOUT', true, undefined],
    [
      'closed',
      { code: 'NoConnection', message: 'Connection not available' },
      'CONNECTION_CLOSED',
      true,
      undefined,
    ],
    ['literal', { code: 'LiteralTooLarge', message: 'too large' }, 'PROTOCOL', true, undefined],
    ['no STARTTLS', { message: 'Server does not support STARTTLS' }, 'TLS_REQUIRED', false, undefined],
    ['refused', { code: 'ECONNREFUSED', message: 'refused' }, 'CONNECT_FAILED', true, undefined],
  ];
  for (const [name, raw, code, temporary, enhanced] of cases) {
    const e = imapError(Object.assign(new Error((raw as { message?: string }).message ?? name), raw), where);
    assert.equal(e.code, code, name);
    assert.equal(e.temporary, temporary, name);
    assert.equal(e.reply?.enhanced, enhanced, name);
    assert.equal(e.where, where, name);
  }
});

test('a failed LOGIN command is shown without its password', () => {
  const e = imapError(
    Object.assign(new Error('x'), {
      responseStatus: 'NO',
      responseText: 'no',
      executedCommand: 'A1 LOGIN bob "hunter2"',
    }),
    where,
  );
  assert.equal(e.command, 'A1 LOGIN ****');
});
