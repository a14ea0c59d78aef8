import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { namesIn } from '../message/attachments.js';
import { parseHeaders } from '../message/headers.js';
import { decide, messageFingerprint } from './decide.js';
import type { RoutingRule } from './types.js';

const catchAll = {
  domains: ['example.com'],
  rewriteDomain: 'corp.local',
  fallback: 'postmaster@corp.local',
  aliases: { sales: ['alice@corp.local'] },
};
const HEAD = [
  'Delivered-To: bob@example.com',
  'Received: from a by mx.provider.example; x',
  'Subject: Invoice 42',
  'List-Id: <acct.lists.example>',
  'Message-ID: <m1@x>',
];
const run = (rules: RoutingRule[], extra: Partial<Parameters<typeof decide>[0]> = {}) =>
  decide({
    route: { catchAll, rules },
    headers: parseHeaders(`${HEAD.join('\r\n')}\r\n\r\n`),
    size: 2000,
    sender: 'billing@supplier.example',
    mailboxUser: 'catchall@example.com',
    provider: 'pop.provider.example',
    maxReceivedHeaders: 30,
    hostname: 'postbote.corp.local',
    ...extra,
  });
const to = (d: ReturnType<typeof decide>) => d.recipients.map((r) => r.address);

describe('rules', () => {
  const cases: Array<[what: string, rules: RoutingRule[], expected: string[], quarantine?: RegExp]> = [
    ['no rules: envelope routing', [], ['bob@corp.local']],
    [
      'reroute on a subject glob',
      [{ if: { subject: { glob: '*invoice*' } }, actions: [{ reroute: ['acct@corp.local'] }] }],
      ['acct@corp.local'],
    ],
    [
      'addRecipient goes through aliases',
      [{ if: { sender: { glob: '*@supplier.example' } }, actions: [{ addRecipient: ['sales'] }] }],
      ['bob@corp.local', 'alice@corp.local'],
    ],
    [
      'copyTo adds a literal address',
      [
        {
          if: { header: { name: 'List-Id', value: { contains: 'ACCT' } } },
          actions: [{ copyTo: ['archive@corp.local'] }],
        },
      ],
      ['bob@corp.local', 'archive@corp.local'],
    ],
    [
      'recipient matches the envelope address before rewrite',
      [{ if: { recipient: { glob: 'bob@example.com' } }, actions: [{ copyTo: ['x@corp.local'] }] }],
      ['bob@corp.local', 'x@corp.local'],
    ],
    [
      'not / any / all combine',
      [
        {
          if: {
            all: [
              { not: { subject: { glob: 'hello' } } },
              { any: [{ size: { over: 10_000 } }, { size: { under: 5000 } }] },
            ],
          },
          actions: [{ copyTo: ['c@corp.local'] }],
        },
      ],
      ['bob@corp.local', 'c@corp.local'],
    ],
    [
      'a rule that does not match changes nothing',
      [{ if: { size: { over: 10_000 } }, actions: [{ reroute: ['big@corp.local'] }] }],
      ['bob@corp.local'],
    ],
    [
      'stop ends the evaluation',
      [
        {
          if: { subject: { regex: '^invoice \\d+$' } },
          actions: [{ copyTo: ['a@corp.local'] }, { stop: true }],
        },
        { if: { subject: { glob: '*' } }, actions: [{ reroute: ['z@corp.local'] }] },
      ],
      ['bob@corp.local', 'a@corp.local'],
    ],
    [
      'quarantine',
      [{ name: 'exe', if: { subject: { contains: 'invoice' } }, actions: [{ quarantine: 'suspicious' }] }],
      ['bob@corp.local'],
      /rule 1 "exe": suspicious/,
    ],
    [
      'attachment names unknown (no body): the rule does not match',
      [{ if: { attachment: { glob: '*.exe' } }, actions: [{ quarantine: 'exe' }] }],
      ['bob@corp.local'],
    ],
  ];
  for (const [what, rules, expected, quarantine] of cases) {
    test(what, () => {
      const d = run(rules);
      assert.deepEqual(to(d), expected);
      if (quarantine) assert.match(d.quarantine ?? '', quarantine);
      else assert.equal(d.quarantine, undefined);
      assert.equal(d.trace.filter((t) => t.startsWith('rule ')).length > 0, rules.length > 0);
    });
  }
  test('attachment names are matched when known', () => {
    const d = run([{ if: { attachment: { glob: '*.EXE' } }, actions: [{ quarantine: 'exe' }] }], {
      attachments: ['a.pdf', 'setup.exe'],
    });
    assert.match(d.quarantine ?? '', /exe/);
  });
  test('a loop is quarantined before any rule runs', () => {
    const d = run([{ if: { subject: { glob: '*' } }, actions: [{ reroute: ['z@corp.local'] }] }], {
      maxReceivedHeaders: 0,
    });
    assert.match(d.quarantine ?? '', /mail loop suspected: 1 Received headers \(limit 0/);
    assert.deepEqual(to(d), ['bob@corp.local']);
  });
  test('Postbote’s own trace is a loop', () => {
    const d = run([], {
      headers: parseHeaders('Received: from p\r\n\tby postbote.corp.local (Postbote) with POP3S; x\r\n\r\n'),
    });
    assert.match(d.quarantine ?? '', /already handled/);
  });
});

describe('fingerprint and attachment names', () => {
  test('Message-ID when present, otherwise a stable hash of identifying headers', () => {
    assert.equal(messageFingerprint(parseHeaders('Message-ID: <a@b>\r\n\r\n')), 'mid:a@b');
    const a = messageFingerprint(
      parseHeaders('From: x@y\r\nSubject: s\r\nDelivered-To: a@example.com\r\n\r\n'),
    );
    const b = messageFingerprint(
      parseHeaders('Delivered-To: b@example.com\r\nFrom: x@y\r\nSubject:  s\r\n\r\n'),
    );
    const c = messageFingerprint(parseHeaders('From: x@y\r\nSubject: t\r\n\r\n'));
    assert.match(a, /^hdr:[0-9a-f]{64}$/);
    assert.equal(a, b);
    assert.notEqual(a, c);
  });
  test('a subject condition matches the subject as people read it (RFC 2047 decoded)', () => {
    const headers = parseHeaders(
      `${HEAD.filter((h) => !h.startsWith('Subject:')).join('\r\n')}\r\nSubject: =?UTF-8?Q?Rechnung_f=C3=BCr_M=C3=A4rz?=\r\n\r\n`,
    );
    const d = run(
      [{ if: { subject: { contains: 'für März' } }, actions: [{ reroute: ['acct@corp.local'] }] }],
      {
        headers,
      },
    );
    assert.deepEqual(to(d), ['acct@corp.local']);
  });
  test('with a content digest the fingerprint is the Message-ID and the digest', () => {
    const h = parseHeaders('Message-ID: <a@b>\r\n\r\n');
    assert.equal(messageFingerprint(h, 'd1'), 'mid:a@b sum:d1');
    assert.notEqual(messageFingerprint(h, 'd1'), messageFingerprint(h, 'd2'));
    assert.equal(messageFingerprint(parseHeaders('From: x@y\r\n\r\n'), 'd1'), 'sum:d1');
  });
  const names: Array<[string, string[]]> = [
    ['Content-Disposition: attachment; filename="report 1.pdf"', ['report 1.pdf']],
    ['Content-Type: application/octet-stream; name=setup.exe', ['setup.exe']],
    ["Content-Disposition: attachment; filename*=utf-8''%C3%BCber.txt", ['über.txt']],
    ["Content-Disposition: attachment; filename*0*=utf-8''a%C3%A4; filename*1=b.doc", ['aäb.doc']],
    ['Content-Type: text/plain; name="=?utf-8?q?M=C3=BCll.txt?="', ['Müll.txt']],
    ['Content-Type: text/plain; charset=utf-8', []],
  ];
  for (const [field, expected] of names) {
    test(`namesIn(${field})`, () => assert.deepEqual(namesIn(field), expected));
  }
});
