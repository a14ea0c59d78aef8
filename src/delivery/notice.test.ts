import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { displayHeader } from '../message/display.js';
import { decodeEncodedWords } from '../message/encoded-word.js';
import { firstHeader, parseHeaders } from '../message/headers.js';
import type { MessageRecord } from '../store/types.js';
import { noticeText } from './notice.js';

const record = (subject: string | null): MessageRecord => ({
  id: 7,
  mailbox: 'info',
  uid: 'u7',
  state: 'quarantined',
  spoolKey: 'k',
  size: 100,
  sha256: '',
  messageId: 'm@x.example',
  sender: 'a@b.example',
  subject,
  recipients: [{ address: 'bob@corp.local', status: 'refused', reason: 'rule' }],
  attempts: 0,
  nextAttemptAt: null,
  reason: 'executable attachment',
  fetchedAt: 0,
  updatedAt: 0,
  sourceRemovedAt: null,
});

const notice = (subject: string | null) => {
  const raw = noticeText(record(subject), 'postbote.test', new Date(0));
  const end = raw.indexOf('\r\n\r\n');
  return { head: raw.subarray(0, end + 2), body: raw.subarray(end + 4).toString('utf8') };
};

describe('postmaster notice', () => {
  const cases: Array<[string, string | null, string]> = [
    ['an ASCII subject', 'Invoice 42', 'Invoice 42'],
    [
      'a subject stored raw by an older version',
      '=?UTF-8?Q?Anfrage_zu_Ihrem_Angebot_f=C3=BCr_M=C3=A4rz?=',
      'Anfrage zu Ihrem Angebot für März',
    ],
    ['a decoded non-ASCII subject', 'Grüße aus Köln – 日本語のテキスト', 'Grüße aus Köln – 日本語のテキスト'],
    [
      'a long non-ASCII subject',
      'Überweisung '.repeat(20).trim(),
      Array.from('Überweisung '.repeat(20).trim()).slice(0, 120).join(''),
    ],
    ['control characters', 'a\u001b[2Jb\r\nBcc: x@evil.example', 'a [2Jb Bcc: x@evil.example'],
    ['no subject', null, ''],
  ];
  for (const [name, subject, shown] of cases) {
    test(`${name}: the Subject is ASCII, folded, RFC 2047 where needed; the body is UTF-8`, () => {
      const { head, body } = notice(subject);
      assert.ok(
        head.every((b) => b < 0x80),
        'header block is 7-bit',
      );
      const lines = head.toString('latin1').split('\r\n');
      for (const l of lines) assert.ok(l.length <= 78, `line over 78: ${l}`);
      assert.ok(!lines.some((l) => /^bcc:/i.test(l)), 'no header injected');
      const got = decodeEncodedWords(firstHeader(parseHeaders(head), 'subject') ?? '');
      assert.equal(got, `[Postbote] message quarantined: ${shown}`.trim());
      // The body has the whole subject; only the notice's own Subject is cut to 120 characters.
      const inBody = subject === null ? '(none)' : displayHeader(subject);
      assert.ok(body.includes(`  Subject:         ${inBody}\r\n`), body);
    });
  }
});
