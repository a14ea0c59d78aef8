import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatAddress, parseAddressList } from './address.js';
import { decodeEncodedWords } from './encoded-word.js';

describe('parseAddressList', () => {
  const cases: Array<[string, string, Array<[name: string, address: string]>]> = [
    ['bare address', 'bob@example.com', [['', 'bob@example.com']]],
    ['angle address', '<bob@example.com>', [['', 'bob@example.com']]],
    ['display name', 'Bob Smith <bob@example.com>', [['Bob Smith', 'bob@example.com']]],
    ['quoted display name with comma', '"Smith, Bob" <bob@example.com>', [['Smith, Bob', 'bob@example.com']]],
    ['domain is lower-cased, local part kept', 'Bob.Smith@EXAMPLE.Com', [['', 'Bob.Smith@example.com']]],
    ['comment after the address', 'bob@example.com (Bob (the builder))', [['', 'bob@example.com']]],
    ['comment inside the address', 'bob(x)@(y)example.com', [['', 'bob@example.com']]],
    ['quoted local part keeps its quotes', '"john doe"@example.com', [['', '"john doe"@example.com']]],
    ['quoted local part that is a dot-atom loses them', '"john"@example.com', [['', 'john@example.com']]],
    ['escaped quote in a quoted local part', '"a\\"b"@example.com', [['', '"a\\"b"@example.com']]],
    [
      'two addresses, one quoted with a comma in its name',
      '"Doe, J" <j@example.com>, k@example.com',
      [
        ['Doe, J', 'j@example.com'],
        ['', 'k@example.com'],
      ],
    ],
    [
      'a group and a mailbox after it',
      'team: a@example.com, B <b@example.com>;, c@example.com',
      [
        ['', 'a@example.com'],
        ['B', 'b@example.com'],
        ['', 'c@example.com'],
      ],
    ],
    ['empty group', 'undisclosed-recipients:;', []],
    [
      'Q encoded display name',
      '=?utf-8?q?J=C3=B6rg_M=C3=BCller?= <jm@example.com>',
      [['Jörg Müller', 'jm@example.com']],
    ],
    ['B encoded display name', '=?UTF-8?B?SsO2cmc=?= <j@example.com>', [['Jörg', 'j@example.com']]],
    [
      'latin1 encoded display name',
      '=?iso-8859-1?q?M=FCller?= <m@example.com>',
      [['Müller', 'm@example.com']],
    ],
    [
      'whole address as an encoded word (lenient)',
      '=?utf-8?B?Ym9iQGV4YW1wbGUuY29t?=',
      [['', 'bob@example.com']],
    ],
    ['internationalised domain to punycode', 'info@Bücher.example', [['', 'info@xn--bcher-kva.example']]],
    ['UTF-8 local part (RFC 6532)', 'jörg@example.com', [['', 'jörg@example.com']]],
    ['obsolete source route', '<@relay.example:bob@example.com>', [['', 'bob@example.com']]],
    ['trailing dot of the domain dropped', 'bob@example.com.', [['', 'bob@example.com']]],
    ['domain literal', 'bob@[192.0.2.1]', [['', 'bob@[192.0.2.1]']]],
    ['plus address kept', 'bob+news@example.com', [['', 'bob+news@example.com']]],
    ['no address at all', 'Bob Smith', []],
    ['broken: no domain', 'bob@', []],
    ['broken: unclosed angle still yields the address', 'Bob <bob@example.com', [['Bob', 'bob@example.com']]],
    [
      'semicolons as separators outside a group are tolerated',
      'a@example.com; b@example.com',
      [
        ['', 'a@example.com'],
        ['', 'b@example.com'],
      ],
    ],
  ];
  for (const [what, input, expected] of cases) {
    test(`${what}: ${input}`, () => {
      assert.deepEqual(
        parseAddressList(input).map((m) => [m.name, m.address]),
        expected,
      );
    });
  }
  test('group members carry the group name', () => {
    assert.deepEqual(
      parseAddressList('Sales Team: a@example.com;').map((m) => m.group),
      ['Sales Team'],
    );
  });
});

describe('formatAddress and encoded words', () => {
  test('quotes a local part with a space and escapes quotes', () => {
    assert.equal(formatAddress('a b', 'x.org'), '"a b"@x.org');
    assert.equal(formatAddress('a"b', 'x.org'), '"a\\"b"@x.org');
  });
  test('adjacent encoded words join without the space between them', () => {
    assert.equal(decodeEncodedWords('=?utf-8?q?a?= =?utf-8?q?b?= c'), 'ab c');
  });
  test('an unknown charset falls back to latin1, a broken word stays as written', () => {
    assert.equal(decodeEncodedWords('=?x-unknown?q?M=FC?='), 'Mü');
    assert.equal(decodeEncodedWords('=?utf-8?b?###?='), '=?utf-8?b?###?=');
  });
});
