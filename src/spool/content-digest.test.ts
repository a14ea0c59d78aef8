import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ContentDigest, isTraceField } from './content-digest.js';

const digest = (message: string, chunk = 1 << 20) => {
  const d = new ContentDigest();
  const buf = Buffer.from(message, 'utf8');
  for (let i = 0; i < buf.length; i += chunk) d.push(buf.subarray(i, i + chunk));
  return d.digest();
};
const msg = (head: string[], body = 'Hello,\r\nsee you.\r\n') => `${head.join('\r\n')}\r\n\r\n${body}`;
const OWN = [
  'From: Shop <news@shop.example>',
  'To: bob@example.com',
  'Subject: Angebot',
  'Message-ID: <same@shop.example>',
];

describe('ContentDigest', () => {
  const base = digest(msg(OWN));
  const same: Array<[string, string]> = [
    [
      'other Received and Delivered-To',
      msg(['Received: from mx2 by mx1; Sun, 29 Nov 2026', 'Delivered-To: alias@example.com', ...OWN]),
    ],
    [
      'folded trace fields with continuation lines',
      msg([
        'Received: from relay.example',
        '\tby mx.example with ESMTPS',
        '  for <bob@example.com>;',
        ...OWN,
      ]),
    ],
    [
      'envelope, authentication and filter stamps anywhere in the block',
      msg([
        'Return-Path: <bounce-1@shop.example>',
        'X-Original-To: bob@example.com',
        'Authentication-Results: mx.example; dkim=pass',
        'ARC-Seal: i=1; a=rsa-sha256; cv=none',
        'ARC-Message-Signature: i=1; a=rsa-sha256',
        'DKIM-Signature: v=1; d=forwarder.example',
        'X-Spam-Status: No, score=-0.1',
        ...OWN.slice(0, 2),
        'X-Envelope-To: bob@example.com',
        'Envelope-To: bob@example.com',
        'X-RCPT-TO: <bob@example.com>',
        'Received-SPF: pass',
        'X-MS-Exchange-Organization-SCL: 1',
        'Status: RO',
        'X-UID: 17',
        ...OWN.slice(2),
      ]),
    ],
    ['field names in any case', msg(['RECEIVED: x', 'delivered-TO: y', ...OWN])],
  ];
  for (const [name, m] of same) {
    test(`the same message: ${name}`, () => assert.equal(digest(m), base));
  }
  const different: Array<[string, string]> = [
    ['another body', msg(OWN, 'Hello,\r\nother offer.\r\n')],
    ['another subject', msg([...OWN.slice(0, 2), 'Subject: Angebot 2', OWN[3]!])],
    ['another Date', msg([...OWN, 'Date: Mon, 30 Nov 2026 10:00:00 +0100'])],
    ['a Resent-To (a person sent it again)', msg([...OWN, 'Resent-To: carol@example.com'])],
    ['a field whose name only starts like a trace field', msg([...OWN, 'Received-By-Hand: yes'])],
    ['a folded own field changed', msg([...OWN, 'X-Campaign: a', ' b'])],
    ['a stray line without colon', msg(['garbage line', ...OWN])],
    ['a Received line in the body', msg(OWN, 'Received: from body\r\nHello,\r\nsee you.\r\n')],
  ];
  for (const [name, m] of different) {
    test(`a different message: ${name}`, () => assert.notEqual(digest(m), base));
  }
  test('a continuation of an own field after a trace field is hashed, and the reverse is not', () => {
    const a = digest(msg(['Received: a', ' b', 'Subject: s', ' t']));
    assert.equal(a, digest(msg(['Received: c', ' d', 'Subject: s', ' t'])));
    assert.notEqual(a, digest(msg(['Received: a', ' b', 'Subject: s', ' u'])));
  });
  test('the digest does not depend on how the bytes are chunked', () => {
    const m = same[2]![1];
    const whole = digest(m);
    assert.equal(whole, base);
    for (let size = 1; size <= 40; size++) assert.equal(digest(m, size), whole, `chunks of ${size}`);
  });
  test('a message with no body, and one with no blank line', () => {
    assert.notEqual(digest('Subject: a\r\n\r\n'), digest('Subject: b\r\n\r\n'));
    assert.equal(digest('Received: x\r\nSubject: a'), digest('Subject: a'));
  });
  test('isTraceField', () => {
    assert.ok(isTraceField('ARC-Authentication-Results'));
    assert.ok(isTraceField(' Delivered-To '));
    assert.ok(!isTraceField('Subject'));
    assert.ok(!isTraceField('Message-ID'));
    assert.ok(!isTraceField('Resent-From'));
  });
});
