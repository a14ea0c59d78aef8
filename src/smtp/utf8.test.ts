// Table tests: which messages need SMTPUTF8, and what MAIL FROM then says.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { mailCommand, smtpUtf8Refusal } from './transaction-parts.js';
import { headersAre8Bit, messageHeadersAre8Bit } from './utf8.js';

describe('headersAre8Bit', () => {
  const cases: Array<[string, string | Buffer, boolean]> = [
    ['ASCII headers, ASCII body', 'Subject: hi\r\n\r\nbody\r\n', false],
    ['UTF-8 subject', 'Subject: Grüße\r\n\r\nbody\r\n', true],
    ['UTF-8 display name in From', 'From: Jörg <j@example.com>\r\n\r\n', true],
    ['8-bit body only: 8BITMIME, not SMTPUTF8', 'Subject: hi\r\n\r\nGrüße\r\n', false],
    ['bare LF line ends', 'Subject: hi\n\nGrüße\n', false],
    ['UTF-8 header with bare LF', 'Subject: Grüße\n\nbody\n', true],
    ['no header/body separator: all of it is header', 'Subject: Grüße', true],
    ['empty header block', '\r\nGrüße', false],
    [
      'Latin-1 byte in a header',
      Buffer.from([...Buffer.from('Subject: '), 0xe4, 0x0d, 0x0a, 0x0d, 0x0a]),
      true,
    ],
  ];
  for (const [name, input, want] of cases) {
    test(name, () => assert.equal(headersAre8Bit(Buffer.from(input as string)), want));
  }

  test('reads a stream only as far as the end of the headers, even split across chunks', async () => {
    const chunks = ['Subject: a\r', '\nX: Gr', 'üße\r\n\r', '\nbody'].map((c) => Buffer.from(c));
    assert.equal(await messageHeadersAre8Bit(Readable.from(chunks)), true);
    const ascii = ['Subject: a\r\n\r\n', 'Grüße'].map((c) => Buffer.from(c));
    assert.equal(await messageHeadersAre8Bit(Readable.from(ascii)), false);
  });

  test('closes the stream it stopped reading without an error (an AbortError costs a stack trace per message)', async () => {
    const chunks = ['Subject: a\r\n\r\n', 'body 1\r\n', 'body 2\r\n'].map((c) => Buffer.from(c));
    const stream = Readable.from(chunks, { objectMode: false });
    assert.equal(await messageHeadersAre8Bit(stream), false);
    assert.equal(stream.destroyed, true);
    assert.equal(stream.errored, null);
  });
});

describe('MAIL FROM and SMTPUTF8 (RFC 6531)', () => {
  const ext = (...names: string[]) => new Map(names.map((n) => [n, '']));
  const cases: Array<[string, Parameters<typeof mailCommand>[0], string[], string]> = [
    ['ASCII message', { from: 'a@x', to: ['b@y'] }, ['SMTPUTF8'], 'MAIL FROM:<a@x>'],
    [
      'UTF-8 headers, offered',
      { from: 'a@x', to: ['b@y'], utf8: true },
      ['SMTPUTF8'],
      'MAIL FROM:<a@x> SMTPUTF8',
    ],
    [
      'UTF-8 headers with 8BITMIME',
      { from: 'a@x', to: ['b@y'], utf8: true, eightBit: true },
      ['8BITMIME', 'SMTPUTF8'],
      'MAIL FROM:<a@x> BODY=8BITMIME SMTPUTF8',
    ],
    ['UTF-8 sender address', { from: 'jörg@x', to: ['b@y'] }, ['SMTPUTF8'], 'MAIL FROM:<jörg@x> SMTPUTF8'],
  ];
  for (const [name, envelope, offered, want] of cases) {
    test(name, () => assert.equal(mailCommand(envelope, ext(...offered)), want));
  }

  const refusals: Array<[string, Parameters<typeof smtpUtf8Refusal>[0], string[], boolean]> = [
    ['ASCII message to a target without SMTPUTF8: sent', { from: 'a@x', to: ['b@y'] }, [], false],
    [
      'UTF-8 headers to a target with SMTPUTF8: sent',
      { from: 'a@x', to: ['b@y'], utf8: true },
      ['SMTPUTF8'],
      false,
    ],
    [
      'UTF-8 headers to a target without SMTPUTF8: sent unchanged, as Postfix does',
      { from: 'a@x', to: ['b@y'], utf8: true },
      ['8BITMIME'],
      false,
    ],
    ['UTF-8 recipient to a target without SMTPUTF8: refused', { from: 'a@x', to: ['jö@y'] }, [], true],
  ];
  for (const [name, envelope, offered, refused] of refusals) {
    test(name, () => {
      const err = smtpUtf8Refusal(envelope, ext(...offered), 'smtp t:25');
      assert.equal(err !== undefined, refused);
      if (err) {
        assert.equal(err.code, 'SMTP_UTF8_UNSUPPORTED');
        assert.equal(err.temporary, false);
        assert.match(err.message, /SMTPUTF8/);
        assert.match(err.hint ?? '', /SMTPUTF8/);
      }
    });
  }
});
