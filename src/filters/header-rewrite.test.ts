// Header edits at delivery, applied while the message streams: table-driven, each case also fed one
// byte at a time so chunk boundaries cannot matter.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { headerRewriter } from './header-rewrite.js';
import type { HeaderEdits } from './types.js';

async function rewrite(input: Buffer, edits: HeaderEdits, chunk = input.length): Promise<string> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) pieces.push(input.subarray(i, i + chunk));
  const out: Buffer[] = [];
  for await (const c of Readable.from(pieces).pipe(headerRewriter(edits))) out.push(c as Buffer);
  return Buffer.concat(out).toString('latin1');
}

const REMOVE = { add: [], remove: ['x-spam-status', 'x-virus-status'] };

describe('headerRewriter', () => {
  const cases: Array<[string, string, HeaderEdits, string]> = [
    [
      'drops forged fields with their continuation lines, keeps the rest',
      'From: a@x\r\nX-Spam-Status: No, score=-100\r\n\ttests=FORGED\r\nSubject: hi\r\nX-Virus-Status: Clean\r\n\r\nbody\r\n',
      REMOVE,
      'From: a@x\r\nSubject: hi\r\n\r\nbody\r\n',
    ],
    [
      'matches names in any case',
      'x-SPAM-status: No\r\nTo: b@y\r\n\r\nb\r\n',
      REMOVE,
      'To: b@y\r\n\r\nb\r\n',
    ],
    [
      'never touches the body, even lines that look like headers',
      'To: b@y\r\n\r\nX-Spam-Status: No\r\nSubject: body\r\n',
      { add: [], remove: ['x-spam-status'], subjectPrefix: '[SPAM] ' },
      'To: b@y\r\n\r\nX-Spam-Status: No\r\nSubject: body\r\n',
    ],
    [
      'prefixes the first Subject only',
      'Subject: Win\r\n big\r\nSubject: again\r\n\r\nx',
      { add: [], remove: [], subjectPrefix: '[SPAM] ' },
      'Subject: [SPAM] Win\r\n big\r\nSubject: again\r\n\r\nx',
    ],
    [
      'does not repeat a prefix the subject already has',
      'Subject: [SPAM] Win\r\n\r\nx',
      { add: [], remove: [], subjectPrefix: '[SPAM] ' },
      'Subject: [SPAM] Win\r\n\r\nx',
    ],
    [
      'works with bare LF line ends',
      'X-Spam-Status: No\nSubject: s\n\nbody\n',
      { add: [], remove: ['x-spam-status'], subjectPrefix: 'P ' },
      'Subject: P s\n\nbody\n',
    ],
    [
      'a message that is all header keeps what is not removed',
      'Subject: s\r\nX-Spam-Status: No\r\n',
      REMOVE,
      'Subject: s\r\n',
    ],
    [
      'a message that is all header, last line unterminated',
      'Subject: s\r\nTo: b',
      REMOVE,
      'Subject: s\r\nTo: b',
    ],
  ];
  for (const [name, input, edits, expected] of cases) {
    test(name, async () => {
      assert.equal(await rewrite(Buffer.from(input, 'latin1'), edits), expected);
      assert.equal(await rewrite(Buffer.from(input, 'latin1'), edits, 1), expected, 'byte by byte');
    });
  }

  test('a field larger than the holding bound is still dropped or kept whole, in pieces', async () => {
    const long = 'a'.repeat(200_000);
    const input = Buffer.from(
      `X-Spam-Status: ${long}\r\n\t${long}\r\nX-Keep: ${long}\r\n\t${long}\r\n\r\nbody`,
      'latin1',
    );
    for (const chunk of [input.length, 16_384, 1000]) {
      const out = await rewrite(input, { add: [], remove: ['x-spam-status'] }, chunk);
      assert.equal(out, `X-Keep: ${long}\r\n\t${long}\r\n\r\nbody`, `chunks of ${chunk}`);
    }
  });
});
