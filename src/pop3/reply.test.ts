import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { apopTimestamp, type LineScan, parseReply, scanLine } from './reply.js';

describe('scanLine', () => {
  const CASES: Array<[input: string, start: number, max: number, expected: LineScan]> = [
    ['+OK\r\n', 0, 100, { kind: 'line', line: '+OK', next: 5 }],
    ['+OK hi\n', 0, 100, { kind: 'line', line: '+OK hi', next: 7 }],
    ['+OK', 0, 100, { kind: 'need-more' }],
    ['+OK\r', 0, 100, { kind: 'need-more' }],
    ['', 0, 100, { kind: 'need-more' }],
    ['x\r\n+OK b\r\n', 3, 100, { kind: 'line', line: '+OK b', next: 10 }],
    ['\r\n', 0, 100, { kind: 'line', line: '', next: 2 }],
    ['0123456789', 0, 5, { kind: 'too-long' }],
    ['0123456789\r\n', 0, 5, { kind: 'too-long' }],
    ['01234\r\n', 0, 5, { kind: 'line', line: '01234', next: 7 }],
    ['01234', 0, 5, { kind: 'need-more' }],
  ];
  for (const [input, start, max, expected] of CASES) {
    test(`${JSON.stringify(input)} from ${start}, max ${max}`, () => {
      assert.deepEqual(scanLine(Buffer.from(input), start, max), expected);
    });
  }
});

describe('parseReply', () => {
  const CASES: Array<[line: string, expected: ReturnType<typeof parseReply>]> = [
    ['+OK', { status: '+OK', text: '' }],
    ['+OK 2 320', { status: '+OK', text: '2 320' }],
    ['+ok lower case', { status: '+OK', text: 'lower case' }],
    ['-ERR no such message', { status: '-ERR', text: 'no such message' }],
    ['-ERR [IN-USE] Mailbox locked', { status: '-ERR', code: 'IN-USE', text: 'Mailbox locked' }],
    ['-ERR [SYS/TEMP] try later', { status: '-ERR', code: 'SYS/TEMP', text: 'try later' }],
    ['-ERR [auth] bad', { status: '-ERR', code: 'AUTH', text: 'bad' }],
    ['-ERR [] empty code', { status: '-ERR', text: '[] empty code' }],
    ['-ERR [not a code] text', { status: '-ERR', text: '[not a code] text' }],
    ['+OK [LOGIN-DELAY] fine', { status: '+OK', code: 'LOGIN-DELAY', text: 'fine' }],
    ['+ VXNlcm5hbWU6', { status: '+', text: 'VXNlcm5hbWU6' }],
    ['+', { status: '+', text: '' }],
    ['+OKAY', undefined],
    ['* OK imap', undefined],
    ['', undefined],
  ];
  for (const [line, expected] of CASES) {
    test(JSON.stringify(line), () => assert.deepEqual(parseReply(line), expected));
  }
});

describe('apopTimestamp', () => {
  test('finds the timestamp in a greeting', () => {
    assert.equal(
      apopTimestamp('POP3 server ready <1896.697170952@dbc.mtview.ca.us>'),
      '<1896.697170952@dbc.mtview.ca.us>',
    );
  });
  test('is undefined without one', () => {
    assert.equal(apopTimestamp('Dovecot ready.'), undefined);
    assert.equal(apopTimestamp('odd <no-at-sign>'), undefined);
  });
});
