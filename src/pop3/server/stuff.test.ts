import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DotUnstuffer } from '../dot-unstuff.js';
import { stuffMessage, topOf } from './stuff.js';

describe('stuffMessage', () => {
  const CASES: Array<[message: string, wire: string]> = [
    ['', '.\r\n'],
    ['a\r\n', 'a\r\n.\r\n'],
    ['.a\r\n', '..a\r\n.\r\n'],
    ['a\r\n.\r\nb\r\n', 'a\r\n..\r\nb\r\n.\r\n'],
    ['a\n.b\r\n', 'a\n.b\r\n.\r\n'],
    ['no final line end', 'no final line end\r\n.\r\n'],
    ['x\r\n..', 'x\r\n...\r\n.\r\n'],
  ];
  for (const [message, wire] of CASES) {
    test(JSON.stringify(message), () => assert.equal(stuffMessage(Buffer.from(message)).toString(), wire));
  }

  test('round-trips through the client unstuffer at any chunking', () => {
    const alphabet = ['.', '\r\n', '\n', '\r', 'a', '..', '\xff'];
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 300; round++) {
      const parts = Array.from({ length: rand(30) }, () => alphabet[rand(alphabet.length)]!);
      const message = Buffer.from(`${parts.join('')}\r\n`, 'latin1');
      const wire = stuffMessage(message);
      const scanner = new DotUnstuffer();
      const out: Buffer[] = [];
      for (let i = 0; i < wire.length; ) {
        const n = 1 + rand(5);
        out.push(...scanner.push(wire.subarray(i, i + n)).out);
        i += n;
      }
      assert.equal(scanner.done, true);
      assert.deepEqual(Buffer.concat(out), message, JSON.stringify(message.toString('latin1')));
    }
  });
});

describe('topOf', () => {
  const MSG = Buffer.from('A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n');
  const CASES: Array<[lines: number, expected: string]> = [
    [0, 'A: 1\r\nB: 2\r\n\r\n'],
    [2, 'A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n'],
    [10, MSG.toString()],
  ];
  for (const [lines, expected] of CASES) {
    test(`TOP n ${lines}`, () => assert.equal(topOf(MSG, lines).toString(), expected));
  }
});
