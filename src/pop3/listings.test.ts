import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bodyLines, joinListings, parseCapa, parseList, parseUidl } from './listings.js';

describe('listings', () => {
  test('bodyLines splits CRLF and LF lines and drops the empty tail', () => {
    assert.deepEqual(bodyLines(Buffer.from('a\r\nb\nc\r\n')), ['a', 'b', 'c']);
    assert.deepEqual(bodyLines(Buffer.alloc(0)), []);
  });

  test('parseCapa upper-cases names and keeps arguments', () => {
    const caps = parseCapa(['TOP', 'sasl PLAIN LOGIN', 'RESP-CODES', '', 'IMPLEMENTATION Dovecot x']);
    assert.deepEqual([...caps.keys()], ['TOP', 'SASL', 'RESP-CODES', 'IMPLEMENTATION']);
    assert.deepEqual(caps.get('SASL'), ['PLAIN', 'LOGIN']);
  });

  const UIDL: Array<[lines: string[], expected: Array<[number, string]> | undefined]> = [
    [
      ['1 whqtswO00WBw418f9t5JxYwZ', '2 QhdPYR:00WBw1Ph7x7'],
      [
        [1, 'whqtswO00WBw418f9t5JxYwZ'],
        [2, 'QhdPYR:00WBw1Ph7x7'],
      ],
    ],
    [[], []],
    [['1 a b'], [[1, 'a']]],
    [['x a'], undefined],
    [['1'], undefined],
    [[`1 ${'a'.repeat(71)}`], undefined],
  ];
  for (const [lines, expected] of UIDL) {
    test(`parseUidl ${JSON.stringify(lines).slice(0, 60)}`, () => {
      const got = parseUidl(lines);
      assert.deepEqual(got && [...got], expected);
    });
  }

  const LIST: Array<[lines: string[], expected: Array<[number, number]> | undefined]> = [
    [
      ['1 120', '2 200'],
      [
        [1, 120],
        [2, 200],
      ],
    ],
    [['1 12x'], undefined],
    [[' 3 7 '], [[3, 7]]],
  ];
  for (const [lines, expected] of LIST) {
    test(`parseList ${JSON.stringify(lines)}`, () => {
      const got = parseList(lines);
      assert.deepEqual(got && [...got], expected);
    });
  }

  test('joinListings joins by number and sorts', () => {
    const uids = new Map([
      [2, 'b'],
      [1, 'a'],
    ]);
    const sizes = new Map([
      [1, 10],
      [2, 20],
    ]);
    assert.deepEqual(joinListings(uids, sizes), [
      { uid: 'a', num: 1, size: 10 },
      { uid: 'b', num: 2, size: 20 },
    ]);
  });

  test('joinListings rejects listings that disagree', () => {
    assert.equal(joinListings(new Map([[1, 'a']]), new Map([[2, 5]])), undefined);
    assert.equal(joinListings(new Map([[1, 'a']]), new Map()), undefined);
  });
});
