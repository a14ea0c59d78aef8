import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  allAddresses,
  firstAddress,
  firstHeader,
  headerValues,
  normalizeAddress,
  parseHeaders,
} from './headers.js';

describe('parseHeaders', () => {
  test('unfolds continuation lines and lower-cases names', () => {
    const h = parseHeaders('Subject: a\r\n  b\r\nTo: x@y.z\r\n\r\nbody: not a header\r\n');
    assert.deepEqual(h, [
      { name: 'subject', value: 'a b' },
      { name: 'to', value: 'x@y.z' },
    ]);
  });
  test('accepts bare LF and skips lines that are not headers', () => {
    const h = parseHeaders(Buffer.from('From someone Mon\nReceived: one\nReceived: two\n\n'));
    assert.deepEqual(headerValues(h, 'Received'), ['one', 'two']);
    assert.equal(firstHeader(h, 'from'), undefined);
  });
});

describe('addresses', () => {
  const cases: Array<[string, string | undefined]> = [
    ['<a@b.c>', 'a@b.c'],
    ['<>', ''],
    ['Name <a@b.c>', 'a@b.c'],
    ['a@b.c (comment)', 'a@b.c'],
    ['"Doe, John" <john@x.org>', 'john@x.org'],
    ['no address', undefined],
  ];
  for (const [input, expected] of cases) {
    test(`firstAddress(${JSON.stringify(input)}) is ${JSON.stringify(expected)}`, () => {
      assert.equal(firstAddress(input), expected);
    });
  }
  test('allAddresses reads lists, groups and quoted commas', () => {
    assert.deepEqual(allAddresses('"Doe, J" <j@EXAMPLE.com>, b@example.com, team: c@Example.COM;'), [
      'j@example.com',
      'b@example.com',
      'c@example.com',
    ]);
  });
  test('normalizeAddress keeps the local part case', () => {
    assert.equal(normalizeAddress('Bob@Example.COM'), 'Bob@example.com');
  });
});
