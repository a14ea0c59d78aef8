// The mixed corpus the interoperability tests move through Courier (and any other server): raw
// UTF-8 header fields (RFC 6532, what Courier withholds from clients that do not say UTF8), dot
// lines, long and folded header lines, attachments, and a few of the standard corpus's messages.
import { createHash } from 'node:crypto';
import { type CorpusEntry, makeMessage } from './corpus.js';

/** Deterministic bytes for an attachment (a hash chain: no PRNG state shared with other corpora). */
function pseudoRandom(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(seed).digest();
  for (let at = 0; at < size; at += block.length) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

function base64Lines(data: Buffer): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? []).join('\n');
}

function utf8Headers(seed: number, extra: string[] = []): string[] {
  return [
    `From: "Jörg Müller" <joerg${seed}@sender.example>`,
    `To: "Zoë Ångström" <user${seed}@provider.example>`,
    `Subject: Grüße aus Köln – 東京 ${seed}`,
    `Date: Fri, 01 Mar 2024 09:${String(seed % 60).padStart(2, '0')}:00 +0000`,
    `Message-ID: <interop.${seed}@sender.example>`,
    'MIME-Version: 1.0',
    ...extra,
  ];
}

/** Messages with LF line ends (how a Maildir stores them); servers send them with CRLF. */
export function interopCorpus(): CorpusEntry[] {
  const longReferences = Array.from({ length: 120 }, (_, i) => `<ref.${i}.abcdef0123456789@lists.example>`);
  const attachment = pseudoRandom(200 * 1024, 'interop-attachment');
  const entries: Array<[string, string[], string]> = [
    [
      'utf8-headers-dots',
      utf8Headers(1, ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit']),
      'Grüße!\n.leading dot\n..two dots\n.\n. dot space\nlast line\n.\n',
    ],
    [
      'long-header-lines',
      [
        'From: <long@sender.example>',
        'To: <user@provider.example>',
        'Subject: long header lines',
        'Message-ID: <interop.long@sender.example>',
        // One unfolded 5 KB line and one folded over many lines.
        `X-Long-Unfolded: ${'x'.repeat(5000)}`,
        `References: ${longReferences.join('\n ')}`,
        `X-Utf8-Long: ${'ä'.repeat(1500)}`,
      ],
      'body\n',
    ],
    [
      'attachment-utf8-filename',
      utf8Headers(3, ['Content-Type: multipart/mixed; boundary="b1"']),
      [
        '--b1',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        'Anhang anbei.',
        '.',
        '--b1',
        'Content-Type: application/octet-stream; name="Bericht März.bin"',
        "Content-Disposition: attachment; filename*=utf-8''Bericht%20M%C3%A4rz.bin",
        'Content-Transfer-Encoding: base64',
        '',
        base64Lines(attachment),
        '--b1--',
        '',
      ].join('\n'),
    ],
    [
      'ascii-attachment',
      [
        'From: <plain@sender.example>',
        'To: <user@provider.example>',
        'Subject: ascii with attachment',
        'Message-ID: <interop.ascii@sender.example>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b2"',
      ],
      [
        '--b2',
        'Content-Type: text/plain',
        '',
        'see attached',
        '--b2',
        'Content-Type: image/png',
        'Content-Transfer-Encoding: base64',
        '',
        base64Lines(attachment.subarray(0, 30_000)),
        '--b2--',
        '',
      ].join('\n'),
    ],
  ];
  const own = entries.map(([name, headers, body]) => ({
    name,
    data: Buffer.from(`${headers.join('\n')}\n\n${body}`, 'utf8'),
  }));
  // Standard-corpus messages with 8-bit bodies, dot lines and 10–100 KB lines, made LF like the rest.
  const standard = [
    {
      name: 'std-dots-utf8',
      data: makeMessage({ size: 64 * 1024, seed: 7001, leadingDots: true, eightBit: 'utf-8', bareLf: true }),
    },
    {
      name: 'std-latin1',
      data: makeMessage({ size: 16 * 1024, seed: 7002, eightBit: 'latin1', bareLf: true }),
    },
    {
      name: 'std-long-lines',
      data: makeMessage({ size: 300 * 1024, seed: 7003, longLines: true, bareLf: true }),
    },
  ];
  return [...own, ...standard];
}
