import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { attachmentNames, MAX_PARTS, namesIn } from './attachments.js';

const crlf = (lines: string[]) => `${lines.join('\r\n')}\r\n`;
/** The message cut into small chunks: part boundaries and headers fall across chunk edges. */
const names = (message: string | Buffer, chunk = 7) => {
  const buf = Buffer.isBuffer(message) ? message : Buffer.from(message, 'utf8');
  const chunks: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) chunks.push(buf.subarray(i, i + chunk));
  return attachmentNames(Readable.from(chunks));
};

// First in the file: mailsplit is not loaded yet, so the failure comes while it loads.
test('a source that fails while mailsplit loads rejects the call (not an uncaught error)', async () => {
  const source = new Readable({ read() {} });
  setImmediate(() => source.destroy(Object.assign(new Error('gone'), { code: 'ENOENT' })));
  await assert.rejects(attachmentNames(source), { code: 'ENOENT' });
});

describe('namesIn: filename= and name= of one field', () => {
  const cases: Array<[string, string[]]> = [
    ['Content-Disposition: attachment; filename="report 1.pdf"', ['report 1.pdf']],
    ['Content-Type: application/octet-stream; name=setup.exe', ['setup.exe']],
    ["Content-Disposition: attachment; filename*=utf-8''%C3%BCber.txt", ['über.txt']],
    ["Content-Disposition: attachment; filename*=iso-8859-1'de'%FCber.txt", ['über.txt']],
    ["Content-Disposition: attachment; filename*0*=utf-8''a%C3%A4; filename*1=b.doc", ['aäb.doc']],
    // A multi-byte character split across two continuations is decoded once the pieces are joined.
    [
      "Content-Disposition: attachment; filename*0*=UTF-8''Rechnung_M%C3; filename*1*=%A4rz.pdf",
      ['Rechnung_März.pdf'],
    ],
    // Continuations are ordered by number, not by position.
    ['Content-Disposition: attachment; filename*1="rt.pdf"; filename*0="repo"', ['report.pdf']],
    ['Content-Type: text/plain; name="=?utf-8?q?M=C3=BCll.txt?="', ['Müll.txt']],
    [
      'Content-Type: text/plain; name="=?utf-8?B?UmVjaG51bmcg?= =?utf-8?B?TcOkcnoucGRm?="',
      ['Rechnung März.pdf'],
    ],
    ['Content-Disposition: attachment; filename="a \\"quoted\\" name.txt"', ['a "quoted" name.txt']],
    // A parameter spelled inside another parameter's quoted value is not a parameter.
    ['Content-Type: text/plain; x-note="see; name=evil.exe"; charset=utf-8', []],
    ['Content-Type: text/plain; charset=utf-8', []],
    ['Content-Type: application/pdf; NAME=Upper.PDF', ['Upper.PDF']],
  ];
  for (const [field, expected] of cases) test(field, () => assert.deepEqual(namesIn(field), expected));
});

describe('attachmentNames: MIME part headers only', () => {
  test('a body line that looks like a Content-Disposition header is not an attachment', async () => {
    const msg = crlf([
      'From: a@b.example',
      'Subject: how to attach',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Write this in your mail:',
      'Content-Disposition: attachment; filename=invoice.exe',
      'Content-Type: application/x-msdownload; name=evil.exe',
      '',
    ]);
    assert.deepEqual(await names(msg), []);
  });

  test('body lines inside a multipart part, and the preamble, are not parts either', async () => {
    const msg = crlf([
      'Content-Type: multipart/mixed; boundary="b1"',
      '',
      'Content-Disposition: attachment; filename=preamble.exe',
      '--b1',
      'Content-Type: text/plain',
      '',
      'Content-Disposition: attachment; filename=body.exe',
      '--b1',
      'Content-Type: application/pdf; name="real.pdf"',
      'Content-Disposition: attachment;',
      ' filename="real.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      'JVBERi0xLjQK',
      '--b1--',
      'Content-Disposition: attachment; filename=epilogue.exe',
    ]);
    assert.deepEqual(await names(msg), ['real.pdf']);
  });

  test('nested multiparts, RFC 2231 and RFC 2047 names, Content-Type name=', async () => {
    const msg = crlf([
      'Content-Type: multipart/mixed; boundary=outer',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary=inner',
      '',
      '--inner',
      'Content-Type: text/plain',
      '',
      'hi',
      '--inner',
      'Content-Type: multipart/related; boundary=deep',
      '',
      '--deep',
      'Content-Type: text/html',
      '',
      '<p>hi</p>',
      '--deep',
      'Content-Type: image/png; name="logo.png"',
      'Content-Disposition: inline',
      '',
      'iVBORw0KGgo=',
      '--deep--',
      '--inner--',
      '--outer',
      'Content-Type: application/pdf',
      "Content-Disposition: attachment; filename*0*=UTF-8''Angebot%20f%C3%BC; filename*1*=r%20M%C3%A4rz.pdf",
      '',
      'JVBERi0xLjQK',
      '--outer',
      'Content-Type: application/zip; name="=?iso-8859-1?Q?Gr=FC=DFe.zip?="',
      '',
      'UEsDBA==',
      '--outer--',
    ]);
    assert.deepEqual((await names(msg)).sort(), ['Angebot für März.pdf', 'Grüße.zip', 'logo.png']);
  });

  test('the same names however the bytes are chunked (boundaries across chunk edges)', async () => {
    const msg = crlf([
      'Content-Type: multipart/mixed; boundary=outer',
      '',
      '--outer',
      'Content-Type: text/plain',
      '',
      'hello',
      '--outer',
      'Content-Type: application/pdf; name=a.pdf',
      '',
      'JVBERi0xLjQK',
      '--outer',
      'Content-Type: application/zip; name=b.zip',
      '',
      'UEsDBA==',
      '--outer--',
    ]);
    for (let size = 1; size <= 80; size++)
      assert.deepEqual(await names(msg, size), ['a.pdf', 'b.zip'], `chunks of ${size}`);
  });

  test('a forwarded message: its own name and the attachments inside it', async () => {
    const msg = crlf([
      'Content-Type: multipart/mixed; boundary=m',
      '',
      '--m',
      'Content-Type: text/plain',
      '',
      'see below',
      '--m',
      'Content-Type: message/rfc822; name="forwarded.eml"',
      'Content-Disposition: attachment; filename="forwarded.eml"',
      '',
      'From: x@y.example',
      'Subject: inner',
      'Content-Type: multipart/mixed; boundary=i',
      '',
      '--i',
      'Content-Type: text/plain',
      '',
      'Content-Disposition: attachment; filename=inner-body-line.exe',
      '--i',
      'Content-Type: application/octet-stream',
      'Content-Disposition: attachment; filename="inner.exe"',
      '',
      'TVqQAAMAAAAEAAAA',
      '--i--',
      '--m',
      'Content-Type: message/rfc822',
      'Content-Disposition: inline',
      '',
      'Subject: inline one',
      'Content-Type: application/pdf; name=inline-inner.pdf',
      '',
      'JVBERi0xLjQK',
      '--m--',
    ]);
    assert.deepEqual((await names(msg)).sort(), ['forwarded.eml', 'inline-inner.pdf', 'inner.exe']);
  });

  test('a single-part message that is itself a file', async () => {
    const msg = crlf([
      'Content-Type: application/pdf; name=scan.pdf',
      'Content-Transfer-Encoding: base64',
      '',
      'JVBERi0xLjQK',
    ]);
    assert.deepEqual(await names(msg, 1000), ['scan.pdf']);
  });

  test('bare LF line ends', async () => {
    const msg =
      'Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; name=a.txt\n\nx\n--b--\n';
    assert.deepEqual(await names(msg), ['a.txt']);
  });

  test('more parts than MAX_PARTS: the names found so far, the rest not read', async () => {
    const parts: string[] = ['Content-Type: multipart/mixed; boundary=b', ''];
    for (let i = 0; i < MAX_PARTS * 2; i++) {
      parts.push('--b', `Content-Type: application/octet-stream; name=f${i}.bin`, '', 'x'.repeat(1000));
    }
    parts.push('--b--');
    let read = 0;
    const body = Buffer.from(crlf(parts));
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < body.length; i += 4096) {
          read = i;
          yield body.subarray(i, i + 4096);
        }
      })(),
    );
    const found = await attachmentNames(source);
    assert.ok(found.length > 0 && found.length <= MAX_PARTS, `${found.length} names`);
    assert.ok(found.includes('f0.bin'));
    assert.ok(read < body.length * 0.6, `stopped reading near part ${MAX_PARTS}: ${read} of ${body.length}`);
  });

  test('a forwarded message with a part header over the bound: the names before it, no hang', async () => {
    const msg = crlf([
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: application/pdf; name=outer.pdf',
      '',
      'x',
      '--b',
      'Content-Type: message/rfc822; name=fwd.eml',
      'Content-Disposition: attachment',
      '',
      'Subject: inner',
      'Content-Type: multipart/mixed; boundary=i',
      '',
      '--i',
      `X-Filler: ${'y'.repeat(400 * 1024)}`,
      'Content-Type: text/plain; name=hidden.txt',
      '',
      'x',
      '--i--',
      '--b',
      'Content-Type: text/plain; name=after.txt',
      '',
      'x',
      '--b--',
    ]);
    assert.deepEqual((await names(msg, 4096)).sort(), ['fwd.eml', 'outer.pdf']);
  });

  test('a part header over the bound: the names found before it', async () => {
    const msg = crlf([
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: text/plain; name=first.txt',
      '',
      'x',
      '--b',
      `X-Filler: ${'y'.repeat(200 * 1024)}`,
      'Content-Type: text/plain; name=second.txt',
      '',
      'x',
      '--b--',
    ]);
    assert.deepEqual(await names(msg, 65536), ['first.txt']);
  });
});
