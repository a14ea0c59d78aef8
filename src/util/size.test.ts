import assert from 'node:assert/strict';
import { test } from 'node:test';
import { humanSize } from './size.js';

const table: Array<[number, string]> = [
  [0, '0 bytes'],
  [1, '1 byte'],
  [1023, '1023 bytes'],
  [1024, '1.0 KB'],
  [3020, '2.9 KB'],
  [10 * 1024, '10 KB'],
  [35 * 1024 * 1024, '35 MB'],
  [1.5 * 1024 ** 3, '1.5 GB'],
];
for (const [bytes, text] of table) test(`${bytes} is ${text}`, () => assert.equal(humanSize(bytes), text));
