import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { displayHeader } from './display.js';
import { encodeHeaderField } from './encoded-word.js';
import { firstHeader, parseHeaders } from './headers.js';

describe('displayHeader', () => {
  const cases: Array<[string, string | Buffer, string]> = [
    [
      'Q encoding',
      '=?UTF-8?Q?Anfrage_zu_Ihrem_Angebot_f=C3=BCr_M=C3=A4rz?=',
      'Anfrage zu Ihrem Angebot für März',
    ],
    ['B encoding', '=?utf-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=', 'Grüße aus Köln'],
    ['lower-case q, latin1 charset', '=?iso-8859-1?q?Gr=FC=DFe?=', 'Grüße'],
    [
      'mixed charsets and plain text',
      'Re: =?iso-8859-1?Q?M=FCller?= und =?utf-8?Q?K=C3=B6nig?= AG',
      'Re: Müller und König AG',
    ],
    ['space between adjacent words dropped', '=?utf-8?q?Rechnung?= =?utf-8?q?_Nr=2E_5?=', 'Rechnung Nr. 5'],
    [
      'a character split across two words',
      '=?UTF-8?B?w6Q=?= =?UTF-8?B?w7Y=?= =?UTF-8?Q?=C3?= =?UTF-8?Q?=BC?=',
      'äöü',
    ],
    ['windows-1252 word: euro and quotes', '=?windows-1252?Q?=80_=93ok=94?=', '€ “ok”'],
    ['unknown charset read as windows-1252', '=?x-unknown?Q?Caf=E9?=', 'Café'],
    ['broken base64 word stays as written', '=?utf-8?B?###?= ok', '=?utf-8?B?###?= ok'],
    ['unterminated word stays as written', '=?utf-8?Q?abc', '=?utf-8?Q?abc'],
    ['RFC 6532 UTF-8 bytes', Buffer.from('Grüße – 日本', 'utf8'), 'Grüße – 日本'],
    ['undeclared 8-bit latin1 bytes', Buffer.from([0x47, 0x72, 0xfc, 0xdf, 0x65, 0x20, 0x80]), 'Grüße €'],
    ['terminal escape stripped', 'Hi \u001b[2J\u001b]0;owned\u0007there', 'Hi [2J ]0;owned there'],
    ['encoded newline cannot forge a log line', '=?utf-8?Q?ok=0D=0AX-Injected:_1?=', 'ok X-Injected: 1'],
    ['bidi override stripped', 'invoice\u202Efdp.exe', 'invoice fdp.exe'],
    ['C1 control from 8-bit stripped', Buffer.from([0x61, 0x81, 0x62]), 'a b'],
    ['tabs and folding become one space', 'a\t\tb  c', 'a b c'],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => assert.equal(displayHeader(input), expected));
  }
});

describe('parseHeaders reads each line as UTF-8, else Windows-1252', () => {
  test('an 8-bit latin1 subject next to a UTF-8 one', () => {
    const block = Buffer.concat([
      Buffer.from('Subject: Gr'),
      Buffer.from([0xfc, 0xdf, 0x65]),
      Buffer.from('\r\nX-Name: K\u00f6nig\r\n\r\nbody \u00fc\r\n', 'utf8'),
    ]);
    const h = parseHeaders(block);
    assert.equal(firstHeader(h, 'subject'), 'Grüße');
    assert.equal(firstHeader(h, 'x-name'), 'König');
  });
});

describe('encodeHeaderField', () => {
  const values = [
    'plain ASCII',
    'Grüße aus Köln',
    '🎉 party 🎉 '.repeat(8).trim(),
    'a literal =?utf-8?q?x?= stays literal',
    'mixed ASCII and 日本語 and more ASCII words that make this line long enough to fold twice over',
  ];
  for (const value of values) {
    test(`round trip: ${value.slice(0, 30)}`, () => {
      const field = encodeHeaderField('Subject', value);
      for (const line of field.split('\r\n')) {
        assert.ok(line.length <= 78, line);
        assert.ok(/^[\x20-\x7e]*$/.test(line), line);
      }
      assert.equal(displayHeader(firstHeader(parseHeaders(`${field}\r\n\r\n`), 'subject') ?? ''), value);
    });
  }
});
