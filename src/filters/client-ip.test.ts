// Where the provider got the message from: table-driven over the Received formats MTAs write.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseHeaders } from '../message/headers.js';
import { receivedFrom, smtpClient } from './client-ip.js';

describe('receivedFrom', () => {
  const cases: Array<[string, string, object]> = [
    [
      'Postfix',
      'from mail.sender.example (mail.sender.example [203.0.113.5]) by mx1.provider.example (Postfix) with ESMTPS id 1; Sun, 29 Nov 2026',
      { ip: '203.0.113.5', helo: 'mail.sender.example' },
    ],
    [
      'Exim',
      'from [198.51.100.7] (helo=out.sender.example) by mx.provider.example with esmtp (Exim 4.96)',
      { ip: '198.51.100.7', helo: 'out.sender.example' },
    ],
    [
      'IPv6',
      'from out6.example ([IPv6:2001:DB8::25]) by mx.provider.example',
      { ip: '2001:db8::25', helo: 'out6.example' },
    ],
    ['no address', 'from localhost by mx.provider.example with LMTP', { helo: 'localhost' }],
    ['not an address in brackets', 'from x ([not.an.ip]) by y', { helo: 'x' }],
    ['no from clause', 'by mx.provider.example with SMTP', {}],
  ];
  for (const [name, value, expected] of cases)
    test(name, () => assert.deepEqual(receivedFrom(value), expected));
});

describe('smtpClient', () => {
  test('the topmost public hop inside the provider’s block; internal hops and forged lower ones ignored', () => {
    const headers = parseHeaders(
      [
        'Received: from mx-int.provider.example (mx-int [10.1.2.3]) by store.provider.example with LMTP',
        'Received: from mail.sender.example (mail.sender.example [203.0.113.5]) by mx1.provider.example with ESMTPS',
        'Received: from evil.example (evil.example [192.0.2.1]) by mx9.provider.example with SMTP',
        'Received: from forged.example (forged.example [192.0.2.99]) by relay.other.example with SMTP',
        'Subject: x',
        '',
      ].join('\r\n'),
    );
    assert.deepEqual(smtpClient(headers), { ip: '203.0.113.5', helo: 'mail.sender.example' });
  });

  test('nothing known when the provider wrote no public address', () => {
    const headers = parseHeaders(
      'Received: from localhost (localhost [127.0.0.1]) by mx.provider.example\r\n\r\n',
    );
    assert.deepEqual(smtpClient(headers), {});
  });
});
