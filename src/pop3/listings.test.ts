import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bodyLines, joinListings, MAX_UID_LENGTH, parseCapa, parseList, parseUidl } from './listings.js';

describe('listings', () => {
  test('bodyLines splits CRLF and LF lines and drops the empty tail', () => {
    assert.deepEqual(bodyLines(Buffer.from('a\r\nb\nc\r\n')), ['a', 'b', 'c']);
    assert.deepEqual(bodyLines(Buffer.alloc(0)), []);
  });

  test('bodyLines keeps every byte: UIDs differing in one 8-bit byte stay different', () => {
    const [a, b] = bodyLines(Buffer.from([0x31, 0x20, 0xe4, 0x0d, 0x0a, 0x31, 0x20, 0xf6, 0x0d, 0x0a]));
    assert.notEqual(a, b);
  });

  test('parseCapa upper-cases names and keeps arguments', () => {
    const caps = parseCapa(['TOP', 'sasl PLAIN LOGIN', 'RESP-CODES', '', 'IMPLEMENTATION Dovecot x']);
    assert.deepEqual([...caps.keys()], ['TOP', 'SASL', 'RESP-CODES', 'IMPLEMENTATION']);
    assert.deepEqual(caps.get('SASL'), ['PLAIN', 'LOGIN']);
  });

  const long = 'a'.repeat(300);
  const UIDL: Array<[lines: string[], expected: Array<[number, string]>, refused: number]> = [
    [
      ['1 whqtswO00WBw418f9t5JxYwZ', '2 QhdPYR:00WBw1Ph7x7'],
      [
        [1, 'whqtswO00WBw418f9t5JxYwZ'],
        [2, 'QhdPYR:00WBw1Ph7x7'],
      ],
      0,
    ],
    [[], [], 0],
    // Compared exactly as sent: "a b" and "a c" are two messages, not one "a".
    [
      ['1 a b', '2 a c'],
      [
        [1, 'a b'],
        [2, 'a c'],
      ],
      0,
    ],
    // Longer than RFC 1939's 70 characters: accepted, whole.
    [[`1 ${long}`], [[1, long]], 0],
    [[`1 ${'a'.repeat(MAX_UID_LENGTH + 1)}`, '2 b'], [[2, 'b']], 1],
    [['x a', '2 b'], [[2, 'b']], 1],
    [['1', '2 b'], [[2, 'b']], 1],
    [['0 a'], [], 1],
    [['1 a\x00b'], [], 1],
    // One number twice: neither line can be trusted.
    [['1 a', '1 b', '2 c'], [[2, 'c']], 1],
  ];
  for (const [lines, expected, refused] of UIDL) {
    test(`parseUidl ${JSON.stringify(lines).slice(0, 60)}`, () => {
      const got = parseUidl(lines);
      assert.deepEqual([...got.byNum], expected);
      assert.equal(got.refused.length, refused);
      for (const r of got.refused) assert.ok(lines.includes(r.line), 'a refusal names the line');
    });
  }

  const LIST: Array<[lines: string[], expected: Array<[number, number]>, refused: number]> = [
    [
      ['1 120', '2 200'],
      [
        [1, 120],
        [2, 200],
      ],
      0,
    ],
    [['1 12x'], [], 1],
    [['3 7 extra'], [[3, 7]], 0],
    [['3 7 '], [[3, 7]], 0],
  ];
  for (const [lines, expected, refused] of LIST) {
    test(`parseList ${JSON.stringify(lines)}`, () => {
      const got = parseList(lines);
      assert.deepEqual([...got.byNum], expected);
      assert.equal(got.refused.length, refused);
    });
  }

  test('joinListings joins by number and sorts', () => {
    const got = joinListings(parseUidl(['2 b', '1 a']), parseList(['1 10', '2 20']));
    assert.deepEqual(got.messages, [
      { uid: 'a', num: 1, size: 10 },
      { uid: 'b', num: 2, size: 20 },
    ]);
    assert.deepEqual(got.refused, []);
  });

  test('joinListings keeps what agrees and refuses, naming it, what is in only one listing', () => {
    const got = joinListings(parseUidl(['1 a', '3 c']), parseList(['1 10', '2 20']));
    assert.deepEqual(got.messages, [{ uid: 'a', num: 1, size: 10 }]);
    assert.deepEqual(
      got.refused.map((r) => r.why),
      ['message 2 is in LIST but not in UIDL', 'message 3 is in UIDL but not in LIST'],
    );
  });

  test('joinListings does not report twice what one listing already refused', () => {
    const got = joinListings(parseUidl(['1 a', '2 \x01']), parseList(['1 10', '2 20']));
    assert.deepEqual(got.messages, [{ uid: 'a', num: 1, size: 10 }]);
    assert.equal(got.refused.length, 1);
    assert.match(got.refused[0]!.why, /control character/);
  });

  test('joinListings keeps two messages with the same uid (the pass tells them apart)', () => {
    const got = joinListings(parseUidl(['1 same', '2 same']), parseList(['1 10', '2 20']));
    assert.equal(got.messages.length, 2);
  });
});
