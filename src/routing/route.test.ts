import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseHeaders } from '../message/headers.js';
import { registrableDomain, trustedBlock } from './envelope.js';
import { route } from './route.js';

const catchAll = {
  domains: ['example.com', 'bücher.example'],
  rewriteDomain: 'corp.local',
  fallback: 'postmaster@corp.local',
  aliases: {
    sales: ['alice@corp.local', 'bob@corp.local'],
    'bob+lists@example.com': ['lists@corp.local'],
    '*@example.org': ['org@corp.local'],
  },
};
const h = (lines: string[]) => parseHeaders(`${lines.join('\r\n')}\r\n\r\n`);
const PROVIDER =
  'Received: from mx.sender.example by mx1.provider.example with ESMTPS id 1; Mon, 1 Jan 2024 10:00:00 +0000';

describe('route: header order and trust (catch-all)', () => {
  const cases: Array<[what: string, headers: string[], expected: string[], user?: string]> = [
    [
      'Delivered-To wins over To',
      ['Delivered-To: bob@example.com', PROVIDER, 'To: list@lists.example.net'],
      ['bob@corp.local'],
    ],
    [
      'X-Original-To when there is no Delivered-To',
      ['X-Original-To: carol@example.com', PROVIDER, 'To: x@example.com'],
      ['carol@corp.local'],
    ],
    [
      'X-Envelope-To, then Envelope-To, then X-RCPT-TO',
      ['X-RCPT-TO: <dave@example.com>', 'Envelope-To: erin@example.com', PROVIDER],
      ['erin@corp.local'],
    ],
    [
      'the provider’s Received `for` when nothing else',
      ['Received: from a by mx1.provider.example for <frank@example.com>; x', 'To: other@example.com'],
      ['frank@corp.local'],
    ],
    [
      'To/Cc/Resent-To only without any envelope header',
      [
        'To: Gina <gina@example.com>',
        'Cc: "H, I" <hi@EXAMPLE.com>, out@else.example',
        'Resent-To: j@example.com',
      ],
      ['gina@corp.local', 'hi@corp.local', 'j@corp.local'],
    ],
    [
      'an envelope header with outside addresses only: fallback, never To',
      ['Delivered-To: someone@provider.example', PROVIDER, 'To: bob@example.com'],
      ['postmaster@corp.local'],
    ],
    [
      'the catch-all box itself is not a recipient: next header',
      ['Delivered-To: catchall@example.com', 'X-Original-To: kim@example.com', PROVIDER],
      ['kim@corp.local'],
      'catchall@example.com',
    ],
    [
      'only the catch-all box itself: To is used',
      ['Delivered-To: catchall@example.com', PROVIDER, 'To: lea@example.com'],
      ['lea@corp.local'],
      'catchall@example.com',
    ],
    [
      'forwarded mail: the foreign Delivered-To below a foreign Received is ignored',
      [
        'Delivered-To: max@example.com',
        'Received: from relay.other.example by mx1.provider.example; x',
        'Received: from mail.other.example by relay.other.example; x',
        'Delivered-To: max@example.com.other-user@other.example',
        'Delivered-To: nina@example.com',
        'Received: from a by mail.other.example; x',
      ],
      ['max@corp.local'],
    ],
    [
      'forwarded mail without our Delivered-To: the deeper foreign one is not used',
      [
        'Received: from relay.other.example by mx1.provider.example for <olga@example.com>; x',
        'Received: from mail.other.example by relay.other.example; x',
        'Delivered-To: paul@example.com',
      ],
      ['olga@corp.local'],
    ],
    [
      'a second Delivered-To run after the provider’s own Received is an earlier delivery',
      [
        'Delivered-To: quinn@example.com',
        'Received: by mx2.provider.example; x',
        'Delivered-To: rita@example.com',
        PROVIDER,
      ],
      ['quinn@corp.local'],
    ],
    [
      'several Delivered-To in the first run: all of them',
      ['Delivered-To: sam@example.com', 'Delivered-To: tom@example.com', PROVIDER],
      ['sam@corp.local', 'tom@corp.local'],
    ],
    [
      'IP-literal hops do not end the block',
      ['Delivered-To: uma@example.com', 'Received: by 2002:a05:6a10::1 with SMTP; x', PROVIDER],
      ['uma@corp.local'],
    ],
    [
      'alias by local part, to two recipients',
      ['Delivered-To: Sales@Example.com', PROVIDER],
      ['alice@corp.local', 'bob@corp.local'],
    ],
    [
      'plus address kept without an alias',
      ['Delivered-To: vera+news@example.com', PROVIDER],
      ['vera+news@corp.local'],
    ],
    [
      'plus address mapped by its alias',
      ['Delivered-To: bob+lists@example.com', PROVIDER],
      ['lists@corp.local'],
    ],
    [
      'plus address falls back to the alias of its base',
      ['Delivered-To: sales+x@example.com', PROVIDER],
      ['alice@corp.local', 'bob@corp.local'],
    ],
    [
      '*@domain alias accepts that domain',
      ['Delivered-To: anyone@example.org', PROVIDER],
      ['org@corp.local'],
    ],
    [
      'IDN domain in Unicode matches the configured domain',
      ['Delivered-To: wolf@BÜCHER.example', PROVIDER],
      ['wolf@corp.local'],
    ],
    [
      'IDN domain in punycode matches too',
      ['Delivered-To: xena@xn--bcher-kva.example', PROVIDER],
      ['xena@corp.local'],
    ],
    ['mixed case becomes one recipient', ['To: Yan@Example.com, yan@example.COM'], ['yan@corp.local']],
    ['nothing usable: fallback', ['Subject: hi'], ['postmaster@corp.local']],
  ];
  for (const [what, headers, expected, user] of cases) {
    test(what, () => {
      const got = route({ catchAll }, h(headers), user ? { mailboxUser: user } : {});
      assert.deepEqual(
        got.map((r) => r.address),
        expected,
      );
      for (const r of got) assert.ok(r.reason.length > 0);
    });
  }

  test('the reason names the header, the host that added it and the rewrite', () => {
    const [r] = route({ catchAll }, h(['Delivered-To: bob@example.com', PROVIDER]));
    assert.equal(
      r!.reason,
      'Delivered-To (added by mx1.provider.example): bob@example.com → bob@corp.local via rewriteDomain',
    );
  });

  test('the fallback reason says what was seen', () => {
    const [r] = route({ catchAll }, h(['Delivered-To: x@provider.example', PROVIDER]));
    assert.match(r!.reason, /Delivered-To.*x@provider.example is outside example.com.*fallback/);
  });

  test('a configured header order replaces the default', () => {
    const got = route(
      { catchAll: { ...catchAll, headers: ['X-Envelope-To'] } },
      h(['Delivered-To: a@example.com', 'X-Envelope-To: b@example.com', PROVIDER]),
    );
    assert.deepEqual(
      got.map((r) => r.address),
      ['b@corp.local'],
    );
  });

  test('a plain mailbox goes to its fixed recipients', () => {
    const r = route({ deliverTo: ['info@corp.local', 'b@corp.local'] }, h(['To: x@y.z']));
    assert.deepEqual(
      r.map((x) => x.address),
      ['info@corp.local', 'b@corp.local'],
    );
  });
});

describe('trusted block', () => {
  test('ends at the first Received by a host of another domain', () => {
    const headers = h([
      'Delivered-To: a@example.com',
      PROVIDER,
      'Received: by mx.sender.example; x',
      'Received: by other.example; x',
    ]);
    assert.deepEqual(trustedBlock(headers), { end: 2, providerDomain: 'provider.example' });
  });
  const domains: Array<[string, string | undefined]> = [
    ['mx1.provider.example', 'provider.example'],
    ['mail.provider.co.uk', 'provider.co.uk'],
    ['localhost', undefined],
    ['192.0.2.1', undefined],
    ['[192.0.2.1]', undefined],
  ];
  for (const [host, expected] of domains) {
    test(`registrableDomain(${host}) = ${expected}`, () => assert.equal(registrableDomain(host), expected));
  }
});
