import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BodyWatch } from './body-watch.js';

/** Feeds `chunks` and returns the first status line seen (offset and text), or undefined. */
function feed(listed: number, chunks: string[]) {
  const w = new BodyWatch(listed);
  for (const c of chunks) {
    const seen = w.push(Buffer.from(c, 'latin1'));
    if (seen) return { ...seen, watch: w };
  }
  return { watch: w };
}

describe('BodyWatch: a status line past the listed size', () => {
  const BAD = 'Subject: a\r\n\r\nlast line'; // 23 octets, no CRLF at the end
  const cases: Array<{ name: string; listed: number; chunks: string[]; want?: [number, string] }> = [
    { name: 'a whole message', listed: 17, chunks: ['Subject: a\r\n\r\nA\r\n'] },
    {
      name: '+OK right at the listed size',
      listed: 23,
      chunks: [`${BAD}.\r\n+OK 55 octets\r\nSubject: b\r\n`],
      want: [26, '+OK '],
    },
    {
      name: '-ERR after it',
      listed: 23,
      chunks: [`${BAD}.\r\n-ERR no such message\r\n`],
      want: [26, '-ERR'],
    },
    {
      name: 'split across every byte',
      listed: 23,
      chunks: [...`${BAD}.\r\n+OK 55 octets\r\n`],
      want: [26, '+OK '],
    },
    { name: 'a bare +OK line', listed: 23, chunks: [`${BAD}.\r\n+OK\r\n`], want: [26, '+OK\r'] },
    { name: 'case-insensitive', listed: 23, chunks: [`${BAD}.\r\n+ok 55\r\n`], want: [26, '+ok '] },
    {
      name: 'a +OK line inside the listed size',
      listed: 40,
      chunks: ['Subject: a\r\n\r\n+OK this is text\r\n'],
    },
    {
      name: 'a line that started before the listed size',
      listed: 20,
      chunks: ['Subject: a\r\n\r\nxx +OK and more text\r\n'],
    },
    { name: 'text past the listed size', listed: 10, chunks: ['Subject: a\r\n\r\nplain text\r\n'] },
    {
      name: 'a line start exactly at a chunk edge',
      listed: 3,
      chunks: ['ab\r\n', '+OK 5\r\n'],
      want: [4, '+OK '],
    },
    {
      name: 'a line start at the listed size and a chunk edge',
      listed: 4,
      chunks: ['ab\r\n', '-ERR x\r\n'],
      want: [4, '-ERR'],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const r = feed(c.listed, c.chunks);
      if (!c.want) assert.equal('offset' in r, false, JSON.stringify(r));
      else assert.deepEqual(['offset' in r ? r.offset : -1, 'text' in r ? r.text : ''], c.want);
    });
  }
});

describe('BodyWatch: a last line without CRLF before the dot', () => {
  const cases: Array<{ name: string; listed: number; chunks: string[]; want: boolean }> = [
    {
      name: '"line.\\r\\n" at the listed size',
      listed: 23,
      chunks: ['Subject: a\r\n\r\nlast line.\r\n'],
      want: true,
    },
    { name: 'split byte by byte', listed: 23, chunks: [...'Subject: a\r\n\r\nlast line.\r\n'], want: true },
    {
      name: 'short of the listed size',
      listed: 100,
      chunks: ['Subject: a\r\n\r\nlast line.\r\n'],
      want: false,
    },
    {
      name: 'a sentence ending in a dot, with CRLF',
      listed: 10,
      chunks: ['Subject: a\r\n\r\nEnd.\r\nmore'],
      want: false,
    },
    { name: 'an ordinary last line', listed: 10, chunks: ['Subject: a\r\n\r\nline\r\n'], want: false },
    { name: 'a stuffed dot line', listed: 10, chunks: ['Subject: a\r\n\r\n\r\n.\r\n'], want: false },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(feed(c.listed, c.chunks).watch.missingCrlfAtEnd(), c.want);
    });
  }

  test('counts the octets it saw', () => {
    const w = new BodyWatch(5);
    w.push(Buffer.from('abc'));
    w.push(Buffer.from('de\r\n'));
    assert.equal(w.received, 7);
  });
});
