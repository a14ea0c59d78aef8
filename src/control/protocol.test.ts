import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  LineSplitter,
  MAX_OUTPUT_CHUNK,
  outputLines,
  PROTOCOL_VERSION,
  parseReply,
  parseRequest,
} from './protocol.js';

const req = (o: Record<string, unknown>) =>
  JSON.stringify({ v: PROTOCOL_VERSION, op: 'fetch', user: 'alice', ...o });

test('requests: only a known op, the right version, an object of args and a sane user pass', () => {
  const cases: Array<[string, RegExp | { op: string; interactive: boolean }]> = [
    [req({}), { op: 'fetch', interactive: false }],
    [req({ op: 'queue', args: { action: 'list' }, interactive: true }), { op: 'queue', interactive: true }],
    ['{"v":1', /not JSON/],
    ['[1,2]', /not an object/],
    ['null', /not an object/],
    [req({ v: 2 }), /protocol version 2/],
    [req({ op: 'toString' }), /unknown op/],
    [req({ op: '__proto__' }), /unknown op/],
    [req({ op: 'shutdown' }), /unknown op/],
    [req({ args: [] }), /args must be an object/],
    [req({ args: 'x' }), /args must be an object/],
    [req({ user: '' }), /user must be/],
    [req({ user: 'x'.repeat(65) }), /user must be/],
    [req({ user: 7 }), /user must be/],
  ];
  for (const [line, want] of cases) {
    const r = parseRequest(line);
    if (want instanceof RegExp) {
      assert.equal(r.ok, false, line);
      if (!r.ok) assert.match(r.error, want, line);
    } else {
      assert.ok(r.ok, line);
      if (r.ok) {
        assert.equal(r.value.op, want.op);
        assert.equal(r.value.interactive, want.interactive);
      }
    }
  }
});

test('replies: output, heartbeat and an exit code from 0 to 255; nothing else', () => {
  const cases: Array<[string, boolean]> = [
    ['{"t":"o","d":"aGk="}', true],
    ['{"t":"e","d":""}', true],
    ['{"t":"w"}', true],
    ['{"t":"x","code":0}', true],
    ['{"t":"x","code":3}', true],
    ['{"t":"x","code":256}', false],
    ['{"t":"x","code":-1}', false],
    ['{"t":"x","code":1.5}', false],
    ['{"t":"o","d":5}', false],
    ['{"t":"q"}', false],
    ['garbage', false],
    ['null', false],
  ];
  for (const [line, ok] of cases) assert.equal(parseReply(line).ok, ok, line);
});

test('output is carried as base64 in bounded pieces, 8-bit bytes unchanged', () => {
  const bytes = Buffer.alloc(MAX_OUTPUT_CHUNK * 2 + 10);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256;
  const lines = outputLines('o', bytes);
  assert.equal(lines.length, 3);
  const back = Buffer.concat(
    lines.map((l) => {
      const r = parseReply(l.trimEnd());
      assert.ok(r.ok && r.value.t === 'o');
      return Buffer.from((r.value as { d: string }).d, 'base64');
    }),
  );
  assert.ok(back.equals(bytes));
  assert.deepEqual(outputLines('e', ''), []);
});

test('the line splitter joins pieces, strips CR, and refuses an unfinished line past its bound', () => {
  const s = new LineSplitter(10);
  assert.deepEqual(s.push(Buffer.from('ab')), []);
  assert.deepEqual(s.push(Buffer.from('c\r\nde\nf')), ['abc', 'de']);
  assert.deepEqual(s.push(Buffer.from('g\n')), ['fg']);
  assert.deepEqual(s.push(Buffer.from('0123456789\n')), ['0123456789']);
  assert.equal(new LineSplitter(10).push(Buffer.from('0123456789A')), 'too-long');
  const slow = new LineSplitter(10);
  for (let i = 0; i < 10; i++) assert.deepEqual(slow.push(Buffer.from('x')), []);
  assert.equal(slow.push(Buffer.from('x')), 'too-long', 'a line sent byte by byte is bounded too');
  assert.equal(new LineSplitter(4).push(Buffer.from('12345\n')), 'too-long');
});
