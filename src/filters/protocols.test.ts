// The scanners' wire formats, without sockets: spamd replies, clamd replies, rspamd's JSON, whole and
// cut at every byte (a parser never guesses on partial input).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chunkHeader, parseClamdReply } from './clamd-protocol.js';
import { parseRspamdReply, rspamdHeaders } from './rspamd-protocol.js';
import { parseSpamdReply, spamdRequest } from './spamd-protocol.js';

const SPAM = 'SPAMD/1.1 0 EX_OK\r\nContent-length: 17\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,NO_RECEIVED';
const HAM = 'SPAMD/1.1 0 EX_OK\r\nSpam: False ; 1.2 / 5.0\r\nContent-length: 9\r\n\r\nMISSING_D';

describe('parseSpamdReply', () => {
  const cases: Array<[string, string, unknown]> = [
    ['spam with symbols', SPAM, { spam: true, score: 1000, required: 5, symbols: ['GTUBE', 'NO_RECEIVED'] }],
    ['ham', HAM, { spam: false, score: 1.2, required: 5, symbols: ['MISSING_D'] }],
    [
      'no symbols',
      'SPAMD/1.1 0 EX_OK\r\nSpam: No ; -0.5 / 5.0\r\nContent-length: 0\r\n\r\n',
      { spam: false, score: -0.5, required: 5, symbols: [] },
    ],
  ];
  for (const [name, reply, expected] of cases) {
    test(name, () => {
      const r = parseSpamdReply(Buffer.from(reply, 'latin1'));
      assert.deepEqual(r, { kind: 'done', reply: expected });
    });
  }
  test('every cut of a complete reply says more', () => {
    for (const reply of [SPAM, HAM]) {
      const full = Buffer.from(reply, 'latin1');
      for (let i = 0; i < full.length; i++) {
        assert.equal(parseSpamdReply(full.subarray(0, i)).kind, 'more', `cut at ${i}`);
      }
    }
  });
  test('only the announced Content-length counts as symbols', () => {
    const r = parseSpamdReply(
      Buffer.from('SPAMD/1.1 0 EX_OK\r\nSpam: True ; 9 / 5\r\nContent-length: 5\r\n\r\nGTUBE,EXTRA'),
    );
    assert.deepEqual(r, { kind: 'done', reply: { spam: true, score: 9, required: 5, symbols: ['GTUBE'] } });
  });
  const errors: Array<[string, string]> = [
    ['an error status', 'SPAMD/1.0 76 Bad header line: xx\r\n'],
    ['not spamd at all', 'HTTP/1.1 400 Bad Request\r\n'],
    ['no Spam header', 'SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n'],
    ['a broken Spam header', 'SPAMD/1.1 0 EX_OK\r\nSpam: maybe\r\n\r\n'],
  ];
  for (const [name, reply] of errors) {
    test(`${name} is an error`, () => assert.equal(parseSpamdReply(Buffer.from(reply)).kind, 'error'));
  }
  test('the request head announces the size and strips line breaks from the user', () => {
    assert.equal(
      spamdRequest(42, 'info\r\nX: y').toString(),
      'SYMBOLS SPAMC/1.5\r\nContent-length: 42\r\nUser: infoX: y\r\n\r\n',
    );
  });
});

describe('parseClamdReply', () => {
  const cases: Array<[string, string, unknown]> = [
    ['clean', 'stream: OK\0', { kind: 'clean' }],
    [
      'infected',
      'stream: Eicar-Test-Signature.UNOFFICIAL FOUND\0',
      { kind: 'infected', virus: 'Eicar-Test-Signature.UNOFFICIAL' },
    ],
    [
      'size limit',
      'INSTREAM size limit exceeded. ERROR\0',
      { kind: 'too-large', message: 'INSTREAM size limit exceeded. ERROR' },
    ],
    [
      'another error',
      "stream: Can't allocate memory ERROR\0",
      { kind: 'error', message: "stream: Can't allocate memory ERROR" },
    ],
    ['partial', 'stream: O', { kind: 'more' }],
    ['empty', '', { kind: 'more' }],
    ['newline-terminated (non-z command)', 'stream: OK\n', { kind: 'clean' }],
  ];
  for (const [name, reply, expected] of cases) {
    test(name, () => assert.deepEqual(parseClamdReply(Buffer.from(reply, 'latin1')), expected));
  }
  test('garbage is an error, not clean', () => {
    assert.equal(parseClamdReply(Buffer.from('PONG\0')).kind, 'error');
  });
  test('chunks are framed by a 4-byte big-endian length', () => {
    assert.deepEqual([...chunkHeader(258)], [0, 0, 1, 2]);
  });
});

describe('parseRspamdReply', () => {
  const reply = (o: object) => JSON.stringify(o);
  const cases: Array<[string, string, unknown]> = [
    [
      'reject is spam',
      reply({ action: 'reject', score: 15, required_score: 15, symbols: { GTUBE: {}, MIME_GOOD: {} } }),
      { action: 'reject', score: 15, required: 15, symbols: ['GTUBE', 'MIME_GOOD'], spam: true },
    ],
    [
      'add header is spam',
      reply({ action: 'add header', score: 7, required_score: 15, symbols: {} }),
      { action: 'add header', score: 7, required: 15, symbols: [], spam: true },
    ],
    [
      'greylist is not spam',
      reply({ action: 'greylist', score: 4.5, required_score: 15 }),
      { action: 'greylist', score: 4.5, required: 15, symbols: [], spam: false },
    ],
    [
      'no action',
      reply({ action: 'no action', score: 0.1, required_score: 15 }),
      { action: 'no action', score: 0.1, required: 15, symbols: [], spam: false },
    ],
    ['an error reply', reply({ error: 'message has no body' }), { error: 'rspamd: message has no body' }],
    ['cut JSON', '{"action":"reje', { error: 'rspamd reply is not JSON: {"action":"reje' }],
    ['no score', reply({ action: 'reject' }), { error: 'rspamd reply without action and score' }],
  ];
  for (const [name, body, expected] of cases) {
    test(name, () => assert.deepEqual(parseRspamdReply(body), expected));
  }
  test('the envelope goes as headers, one Rcpt per recipient, without line breaks', () => {
    assert.deepEqual(
      rspamdHeaders({ from: 'a@x\r\nEvil: 1', rcpt: ['b@y', 'c@y'], queueId: 'k1', user: 'info' }, 10),
      [
        ['Content-Length', '10'],
        ['From', 'a@xEvil: 1'],
        ['Rcpt', ['b@y', 'c@y']],
        ['Queue-Id', 'k1'],
        ['User', 'info'],
      ],
    );
  });
});
