import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isPostboteError } from '../errors.js';
import { formatReply, MAX_REPLY_BYTES, MAX_REPLY_LINE, MAX_REPLY_LINES, parseReply } from './reply.js';
import type { SmtpReply } from './types.js';

const complete: Array<[string, string, SmtpReply, number?]> = [
  ['single line', '250 OK\r\n', { code: 250, text: 'OK' }],
  ['enhanced code', '550 5.1.1 No such user\r\n', { code: 550, enhanced: '5.1.1', text: 'No such user' }],
  ['enhanced code without text', '250 2.0.0\r\n', { code: 250, enhanced: '2.0.0', text: '' }],
  [
    'three-digit enhanced parts',
    '550 5.7.606 Access denied\r\n',
    { code: 550, enhanced: '5.7.606', text: 'Access denied' },
  ],
  ['enhanced class must match the code', '550 2.0.0 odd\r\n', { code: 550, text: '2.0.0 odd' }],
  ['number-like text is not an enhanced code', '250 2.0 rules\r\n', { code: 250, text: '2.0 rules' }],
  ['code alone', '250\r\n', { code: 250, text: '' }],
  ['code and space', '354 \r\n', { code: 354, text: '' }],
  ['bare LF line end', '221 bye\n', { code: 221, text: 'bye' }],
  [
    'utf-8 text',
    '550 5.1.1 Empfänger unbekannt\r\n',
    { code: 550, enhanced: '5.1.1', text: 'Empfänger unbekannt' },
  ],
  [
    'multi-line EHLO',
    '250-mx.example Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n',
    { code: 250, text: 'mx.example Hello\nPIPELINING\nSIZE 1000\n8BITMIME' },
  ],
  [
    'multi-line with enhanced code on each line',
    '550-5.7.1 Relay denied\r\n550 5.7.1 see https://x\r\n',
    { code: 550, enhanced: '5.7.1', text: 'Relay denied\nsee https://x' },
  ],
  ['stops after the first reply', '250 one\r\n250 two\r\n', { code: 250, text: 'one' }, 9],
];

// A protocol violation read as Postfix reads it: by the last line.
const mixed: Array<[string, string, SmtpReply]> = [
  ['250 then 451', '250-ok\r\n451 oops\r\n', { code: 451, text: 'ok\noops' }],
  ['550 then 250', '550-x\r\n250 y\r\n', { code: 250, text: 'x\ny' }],
  ['250 then 251', '250-a\r\n251 b\r\n', { code: 251, text: 'a\nb' }],
  [
    'the enhanced code of the last line',
    '250-2.0.0 ok\r\n451 4.3.0 oops\r\n',
    { code: 451, enhanced: '4.3.0', text: 'ok\noops' },
  ],
  ['no enhanced code of another class', '550-5.7.1 no\r\n250 yes\r\n', { code: 250, text: 'no\nyes' }],
];

const incomplete: Array<[string, string]> = [
  ['empty input', ''],
  ['line without end', '250 OK'],
  ['code only, no end', '25'],
  ['CR without LF', '250 OK\r'],
  ['multi-line missing the last line', '250-a\r\n250-b\r\n'],
  ['multi-line with partial last line', '250-a\r\n250 b'],
];

const malformed: Array<[string, string]> = [
  ['text instead of a code', 'hello\r\n'],
  ['short line', '25\r\n'],
  ['code 1xx', '150 nope\r\n'],
  ['code 6xx', '650 nope\r\n'],
  ['bad separator', '250x\r\n'],
  ['empty line', '\r\n'],
];

describe('parseReply', () => {
  for (const [name, input, expected, consumed] of complete) {
    test(`parses ${name}`, () => {
      const result = parseReply(Buffer.from(input));
      assert.ok(result);
      assert.deepEqual(result.reply, expected);
      assert.equal(result.consumed, consumed ?? Buffer.byteLength(input));
    });
  }

  for (const [name, input, expected] of mixed) {
    test(`reads mixed codes by the last line: ${name}`, () => {
      const result = parseReply(Buffer.from(input));
      assert.ok(result);
      assert.deepEqual(result.reply, expected);
      assert.equal(result.mixedCodes, true);
      assert.equal(result.consumed, Buffer.byteLength(input));
    });
  }

  test('does not flag a reply whose lines agree', () => {
    assert.equal(parseReply(Buffer.from('250-a\r\n250 b\r\n'))?.mixedCodes, undefined);
  });

  for (const [name, input] of incomplete) {
    test(`asks for more on ${name}`, () => {
      assert.equal(parseReply(Buffer.from(input)), null);
    });
  }

  for (const [name, input] of malformed) {
    test(`rejects ${name} as a protocol error`, () => {
      assert.throws(
        () => parseReply(Buffer.from(input)),
        (err) => isPostboteError(err) && err.code === 'PROTOCOL' && err.temporary,
      );
    });
  }

  test('parses from an offset', () => {
    const input = Buffer.from('250 one\r\n550 5.1.1 two\r\n');
    const first = parseReply(input);
    assert.ok(first);
    const second = parseReply(input, first.consumed);
    assert.deepEqual(second, { reply: { code: 550, enhanced: '5.1.1', text: 'two' }, consumed: 15 });
  });

  test('gives the same reply at every split of the input once complete', () => {
    const input = Buffer.from('250-mx Hello\r\n250-PIPELINING\r\n250 2.0.0 OK\r\n');
    for (let i = 0; i < input.length; i++) assert.equal(parseReply(input.subarray(0, i)), null);
    assert.deepEqual(parseReply(input)?.reply, {
      code: 250,
      text: 'mx Hello\nPIPELINING\nOK',
      enhanced: '2.0.0',
    });
  });

  test('rejects an unterminated line over the cap instead of buffering forever', () => {
    const input = Buffer.from(`250 ${'x'.repeat(MAX_REPLY_LINE)}`);
    assert.throws(
      () => parseReply(input),
      (err) => isPostboteError(err) && err.code === 'LINE_TOO_LONG',
    );
  });

  test('rejects a terminated line over the cap', () => {
    const input = Buffer.from(`250 ${'x'.repeat(MAX_REPLY_LINE)}\r\n`);
    assert.throws(
      () => parseReply(input),
      (err) => isPostboteError(err) && err.code === 'LINE_TOO_LONG',
    );
  });

  for (const terminated of [true, false]) {
    test(`rejects a ${terminated ? '' : 'still open '}multi-line reply over ${MAX_REPLY_BYTES} bytes`, () => {
      const line = `250-${'x'.repeat(1000)}\r\n`;
      const input = Buffer.from(
        line.repeat(Math.ceil(MAX_REPLY_BYTES / line.length)) + (terminated ? '250 end\r\n' : ''),
      );
      assert.throws(
        () => parseReply(input),
        (err) => isPostboteError(err) && err.code === 'LINE_TOO_LONG' && /reply over/.test(err.message),
      );
    });
  }

  test('rejects a reply with too many lines', () => {
    const input = Buffer.from('250-x\r\n'.repeat(MAX_REPLY_LINES + 1));
    assert.throws(
      () => parseReply(input),
      (err) => isPostboteError(err) && err.code === 'PROTOCOL',
    );
  });
});

test('formatReply joins lines for one-line display', () => {
  assert.equal(formatReply({ code: 550, enhanced: '5.7.1', text: 'a\nb' }), '550 5.7.1 a / b');
  assert.equal(formatReply({ code: 250, text: 'OK' }), '250 OK');
});
