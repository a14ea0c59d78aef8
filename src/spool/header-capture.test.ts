// The header block captured while spooling: where it ends, across chunks, and at what cost.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findHeaderEnd, HeaderCapture, MAX_HEADER_BYTES } from './header-capture.js';

function capture(chunks: string[]): HeaderCapture {
  const c = new HeaderCapture();
  for (const s of chunks) c.push(Buffer.from(s, 'latin1'));
  return c;
}

describe('HeaderCapture', () => {
  const cases: Array<[string, string[], string]> = [
    [
      'CRLF header block in one chunk',
      ['Subject: a\r\nTo: b\r\n\r\nbody\r\n'],
      'Subject: a\r\nTo: b\r\n\r\n',
    ],
    ['split inside the blank line', ['Subject: a\r\n\r', '\nbody'], 'Subject: a\r\n\r\n'],
    ['bare LF line ends', ['Subject: a\n\nbody\n'], 'Subject: a\n\n'],
    ['no blank line: all of it', ['Subject: a\r\n', 'To: b\r\n'], 'Subject: a\r\nTo: b\r\n'],
    ['empty header block', ['\r\nbody'], '\r\n'],
  ];
  for (const [name, chunks, want] of cases) {
    test(name, () => assert.equal(capture(chunks).header().toString('latin1'), want));
  }

  test('stops at the cap', () => {
    const c = new HeaderCapture();
    c.push(Buffer.alloc(MAX_HEADER_BYTES + 10, 'a'));
    assert.equal(c.done, true);
    assert.equal(c.header().length, MAX_HEADER_BYTES);
  });

  test('the header block is a view of the chunk it came in, not a copy (a copy per message fed the GC)', () => {
    const chunk = Buffer.from('Subject: a\r\n\r\nbody\r\n');
    const c = new HeaderCapture();
    c.push(chunk);
    const h = c.header();
    assert.equal(h.buffer, chunk.buffer);
    assert.equal(h.byteOffset, chunk.byteOffset);
  });

  test('findHeaderEnd', () => {
    assert.equal(findHeaderEnd(Buffer.from('a: b\r\n\r\n')), 8);
    assert.equal(findHeaderEnd(Buffer.from('a: b\r\n\r')), -1);
  });
});
