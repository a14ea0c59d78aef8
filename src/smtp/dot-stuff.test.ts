import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, test } from 'node:test';
import { DotStuffer } from './dot-stuff.js';

async function stuff(chunks: Buffer[]): Promise<string> {
  return (await buffer(Readable.from(chunks).pipe(new DotStuffer()))).toString('latin1');
}

/** The obvious byte-at-a-time definition, to compare the fast one against. */
function reference(input: string): string {
  const normalised = input.replace(/\r\n|\r|\n/g, '\r\n');
  if (normalised === '') return '.\r\n';
  const stuffed = normalised.replace(/^\./gm, '..');
  return (stuffed.endsWith('\r\n') ? stuffed : `${stuffed}\r\n`) + '.\r\n';
}

const table: Array<[string, string, string]> = [
  ['empty body', '', '.\r\n'],
  ['CRLF body', 'a\r\nb\r\n', 'a\r\nb\r\n.\r\n'],
  ['body without final line break', 'a\r\nb', 'a\r\nb\r\n.\r\n'],
  ['leading dot on first line', '.a\r\n', '..a\r\n.\r\n'],
  ['leading dot on later line', 'a\r\n.b\r\n', 'a\r\n..b\r\n.\r\n'],
  ['line that is a single dot', 'a\r\n.\r\nb\r\n', 'a\r\n..\r\nb\r\n.\r\n'],
  ['dot not at line start', 'a.b\r\n', 'a.b\r\n.\r\n'],
  ['bare LF', 'a\nb\n', 'a\r\nb\r\n.\r\n'],
  ['bare CR', 'a\rb\r', 'a\r\nb\r\n.\r\n'],
  ['CR CR LF', 'a\r\r\nb', 'a\r\n\r\nb\r\n.\r\n'],
  ['LF CR', 'a\n\rb', 'a\r\n\r\nb\r\n.\r\n'],
  ['dot after bare LF', 'a\n.b', 'a\r\n..b\r\n.\r\n'],
  ['dot after bare CR', 'a\r.b', 'a\r\n..b\r\n.\r\n'],
  ['empty lines', '\r\n\r\n', '\r\n\r\n.\r\n'],
  ['only a dot', '.', '..\r\n.\r\n'],
  ['8-bit bytes pass unchanged', 'Gr\xfc\xdfe\r\n\xff.\r\n', 'Gr\xfc\xdfe\r\n\xff.\r\n.\r\n'],
];

describe('DotStuffer', () => {
  for (const [name, input, expected] of table) {
    test(`handles ${name}`, async () => {
      assert.equal(reference(input), expected, 'reference agrees with the table');
      assert.equal(await stuff([Buffer.from(input, 'latin1')]), expected);
    });
  }

  const tricky = 'a\r\n.b\r\n..\r\n\r\n.\rc\n.\n\r.d\r\r\n.e.';
  test('gives the same bytes at every split position of a tricky input', async () => {
    const input = Buffer.from(tricky, 'latin1');
    const expected = reference(tricky);
    for (let i = 0; i <= input.length; i++) {
      const got = await stuff([input.subarray(0, i), input.subarray(i)]);
      assert.equal(got, expected, `split at ${i}`);
    }
  });

  test('gives the same bytes at every pair of split positions', async () => {
    const input = Buffer.from(tricky, 'latin1');
    const expected = reference(tricky);
    for (let i = 0; i <= input.length; i++) {
      for (let j = i; j <= input.length; j++) {
        const chunks = [input.subarray(0, i), input.subarray(i, j), input.subarray(j)];
        assert.equal(await stuff(chunks), expected, `split at ${i}, ${j}`);
      }
    }
  });

  test('one byte per chunk', async () => {
    const input = Buffer.from(tricky, 'latin1');
    const chunks = [...input].map((b) => Buffer.from([b]));
    assert.equal(await stuff(chunks), reference(tricky));
  });

  test('matches the reference on random inputs in random chunks', async () => {
    const alphabet = ['a', '.', '\r', '\n', '\r\n', 'x.'];
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 300; round++) {
      let text = '';
      for (let k = rand(30); k > 0; k--) text += alphabet[rand(alphabet.length)];
      const input = Buffer.from(text, 'latin1');
      const chunks: Buffer[] = [];
      for (let pos = 0; pos < input.length; ) {
        const size = 1 + rand(5);
        chunks.push(input.subarray(pos, pos + size));
        pos += size;
      }
      assert.equal(await stuff(chunks), reference(text), JSON.stringify(text));
    }
  });

  test('passes a clean CRLF chunk through without copying', async () => {
    const chunk = Buffer.from('Subject: x\r\n\r\nhello\r\n');
    const stuffer = new DotStuffer();
    const out: Buffer[] = [];
    stuffer.on('data', (b: Buffer) => out.push(b));
    stuffer.end(chunk);
    await new Promise((resolve) => stuffer.on('end', resolve));
    assert.equal(out[0], chunk);
  });
});
