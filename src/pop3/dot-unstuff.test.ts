import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, test } from 'node:test';
import { DotUnstuffer, DotUnstuffStream } from './dot-unstuff.js';

/** Feeds `chunks` through one scanner; returns the message, whether it ended and the trailing bytes. */
function run(chunks: Buffer[]): { message: string; done: boolean; rest: string } {
  const s = new DotUnstuffer();
  const out: Buffer[] = [];
  let rest = Buffer.alloc(0);
  let done = false;
  for (const c of chunks) {
    const r = s.push(c);
    out.push(...r.out);
    if (r.rest) rest = Buffer.concat([rest, r.rest]);
    done = r.done;
  }
  return { message: Buffer.concat(out).toString('latin1'), done, rest: rest.toString('latin1') };
}

const CASES: Array<{ name: string; wire: string; message: string; rest?: string }> = [
  { name: 'empty message', wire: '.\r\n', message: '' },
  { name: 'one line', wire: 'Subject: x\r\n.\r\n', message: 'Subject: x\r\n' },
  { name: 'stuffed dot at start', wire: '..hidden\r\n.\r\n', message: '.hidden\r\n' },
  { name: 'stuffed dot mid-message', wire: 'a\r\n..b\r\nc\r\n.\r\n', message: 'a\r\n.b\r\nc\r\n' },
  { name: 'line that is a single dot', wire: 'a\r\n..\r\nb\r\n.\r\n', message: 'a\r\n.\r\nb\r\n' },
  { name: 'two dots stuffed to three', wire: '...\r\n.\r\n', message: '..\r\n' },
  { name: 'unstuffed leading dot is dropped (RFC 1939)', wire: '.x\r\n.\r\n', message: 'x\r\n' },
  { name: 'bare LF is data, not a line start', wire: 'a\n.b\n.\n\r\n.\r\n', message: 'a\n.b\n.\n\r\n' },
  { name: 'dot then CR without LF', wire: '.\rx\r\n.\r\n', message: '\rx\r\n' },
  { name: 'CR CR LF before dot', wire: 'a\r\r\n..\r\n.\r\n', message: 'a\r\r\n.\r\n' },
  { name: 'dot in the middle of a line', wire: 'a.b\r\n.\r\n', message: 'a.b\r\n' },
  { name: '8-bit bytes', wire: 'caf\xe9 \xff\r\n.\r\n', message: 'caf\xe9 \xff\r\n' },
  {
    name: 'bytes after the terminator are the next reply',
    wire: 'x\r\n.\r\n+OK next\r\n',
    message: 'x\r\n',
    rest: '+OK next\r\n',
  },
  { name: 'empty lines', wire: '\r\n\r\n.\r\n', message: '\r\n\r\n' },
  {
    name: 'plain lines around stuffed ones',
    wire: 'a\r\nbc\r\n\r\n..d\r\ne\r\n...\r\nf.\r\n\r\n.\r\n',
    message: 'a\r\nbc\r\n\r\n.d\r\ne\r\n..\r\nf.\r\n\r\n',
  },
  { name: 'CR at a line end, then a stuffed line', wire: 'a\r\r\n..\r\r\n.\r\n', message: 'a\r\r\n.\r\r\n' },
];

describe('DotUnstuffer', () => {
  for (const c of CASES) {
    const wire = Buffer.from(c.wire, 'latin1');
    test(`${c.name}: whole`, () => {
      assert.deepEqual(run([wire]), { message: c.message, done: true, rest: c.rest ?? '' });
    });
    test(`${c.name}: split at every position`, () => {
      for (let i = 0; i <= wire.length; i++) {
        const r = run([wire.subarray(0, i), wire.subarray(i)]);
        assert.deepEqual(r, { message: c.message, done: true, rest: c.rest ?? '' }, `split at ${i}`);
      }
    });
    test(`${c.name}: split at every pair of positions`, () => {
      for (let i = 0; i <= wire.length; i++) {
        for (let j = i; j <= wire.length; j++) {
          const r = run([wire.subarray(0, i), wire.subarray(i, j), wire.subarray(j)]);
          assert.deepEqual(r, { message: c.message, done: true, rest: c.rest ?? '' }, `split at ${i}, ${j}`);
        }
      }
    });
    test(`${c.name}: one byte per chunk`, () => {
      const chunks = [...wire].map((b) => Buffer.from([b]));
      assert.deepEqual(run(chunks), { message: c.message, done: true, rest: c.rest ?? '' });
    });
  }

  test('is not done while the terminator has not arrived', () => {
    for (const wire of ['a\r\n', 'a\r\n.', 'a\r\n.\r', 'a\r\n..\r\n', '']) {
      assert.equal(run([Buffer.from(wire)]).done, false, JSON.stringify(wire));
    }
  });

  test('does not take "\\n.\\r\\n" after a bare LF as the terminator', () => {
    assert.equal(run([Buffer.from('a\n.\r\n')]).done, false);
  });
});

describe('DotUnstuffStream', () => {
  test('unstuffs through a pipeline and keeps the trailing bytes', async () => {
    const t = new DotUnstuffStream();
    const out = await buffer(Readable.from([Buffer.from('..a\r\n'), Buffer.from('b\r\n.\r\n+OK')]).pipe(t));
    assert.equal(out.toString(), '.a\r\nb\r\n');
    assert.equal(t.trailing.toString(), '+OK');
  });

  test('errors when the input ends before the terminator', async () => {
    const t = new DotUnstuffStream();
    await assert.rejects(buffer(Readable.from([Buffer.from('a\r\n')]).pipe(t)), /without its terminator/);
  });
});
