import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { classifyRefusal, connectorRefusalHint, isClientRefusal, isTooLarge, replyKind } from './refusal.js';
import type { RecipientReply, SmtpReply } from './types.js';

const r = (code: number, text: string, enhanced?: string): SmtpReply =>
  enhanced === undefined ? { code, text } : { code, enhanced, text };
const rcpt = (address: string, reply: SmtpReply): RecipientReply => ({ address, stage: 'RCPT', reply });

describe('replyKind', () => {
  const table: Array<[number, string]> = [
    [220, 'ok'],
    [250, 'ok'],
    [251, 'ok'],
    [354, 'ok'],
    [421, 'temporary'],
    [450, 'temporary'],
    [452, 'temporary'],
    [500, 'permanent'],
    [550, 'permanent'],
    [554, 'permanent'],
  ];
  for (const [code, kind] of table) {
    test(`${code} is ${kind}`, () => assert.equal(replyKind(r(code, 'x')), kind));
  }
});

describe('isTooLarge', () => {
  const table: Array<[SmtpReply, boolean]> = [
    [r(552, 'Message size exceeds fixed limit', '5.3.4'), true],
    [r(552, 'Error: message exceeds fixed maximum message size 1000'), true],
    [r(554, 'Message too big', '5.3.4'), true],
    [r(550, 'Message length exceeds administrative limit', '5.2.3'), true],
    [r(552, 'Mailbox full', '5.2.2'), false],
    [r(452, 'Insufficient system storage', '4.3.4'), false],
    [r(550, 'No such user', '5.1.1'), false],
    [r(250, 'OK'), false],
  ];
  for (const [reply, expected] of table) {
    test(`${reply.code} ${reply.enhanced ?? ''} ${reply.text} → ${expected}`, () =>
      assert.equal(isTooLarge(reply), expected));
  }
});

describe('isClientRefusal', () => {
  const table: Array<[SmtpReply, boolean]> = [
    [r(550, 'Relay access denied', '5.7.1'), true],
    [r(554, '<a@x>: Relay access denied'), true],
    [r(550, 'Relaying denied'), true],
    [r(550, 'relay not permitted'), true],
    [r(550, 'we do not relay'), true],
    [r(550, 'Unable to relay recipient in non-accepted domain', '5.7.54'), true],
    [r(550, 'TenantAttribution; Relay Access Denied', '5.7.64'), true],
    [r(550, 'Client host [1.2.3.4] rejected: Access denied'), true],
    [r(554, 'Client host rejected: cannot find your hostname'), true],
    [r(550, 'Sender not permitted to relay'), true],
    [r(530, 'Authentication required', '5.7.0'), true],
    [r(530, 'Client was not authenticated', '5.7.1'), true],
    [r(550, 'Delivery not authorized', '5.7.1'), true],
    [r(454, 'Relay access denied', '4.7.1'), true],
    [r(550, 'No such user', '5.1.1'), false],
    [r(550, 'Mailbox unavailable'), false],
    [r(450, 'Greylisted, try again', '4.7.1'), false],
    [r(552, 'Mailbox full', '5.2.2'), false],
    [r(250, 'Relay access denied'), false],
  ];
  for (const [reply, expected] of table) {
    test(`${reply.code} ${reply.enhanced ?? ''} ${reply.text} → ${expected}`, () =>
      assert.equal(isClientRefusal(reply), expected));
  }
});

describe('classifyRefusal', () => {
  const relay = r(550, 'Relay access denied', '5.7.1');
  const table: Array<[string, RecipientReply[], 'client-refused' | null]> = [
    ['no recipients', [], null],
    ['every recipient relay-denied', [rcpt('a@x', relay), rcpt('b@x', relay)], 'client-refused'],
    ['one recipient relay-denied', [rcpt('a@x', relay)], 'client-refused'],
    ['one accepted, one refused', [rcpt('a@x', r(250, 'OK')), rcpt('b@x', relay)], null],
    [
      'one unknown user, one relay-denied',
      [rcpt('a@x', r(550, 'No such user', '5.1.1')), rcpt('b@x', relay)],
      null,
    ],
    [
      'mail refused with auth required for every recipient',
      [
        { address: 'a@x', stage: 'MAIL', reply: r(530, 'Authentication required', '5.7.0') },
        { address: 'b@x', stage: 'MAIL', reply: r(530, 'Authentication required', '5.7.0') },
      ],
      'client-refused',
    ],
    ['all unknown users', [rcpt('a@x', r(550, 'No such user', '5.1.1'))], null],
    ['all accepted', [rcpt('a@x', r(250, 'OK'))], null],
  ];
  for (const [name, replies, expected] of table) {
    test(`${name} → ${expected}`, () => assert.equal(classifyRefusal(replies), expected));
  }
});

describe('connectorRefusalHint', () => {
  const exchange = r(550, 'Unable to relay recipient in non-accepted domain', '5.7.54');
  const relay = r(554, 'Relay access denied', '5.7.1');
  const table: Array<[string, RecipientReply[], RegExp, RegExp | null]> = [
    [
      '5.7.54 for one domain names it as the domain to accept',
      [rcpt('info@corp.example', exchange), rcpt('sales@corp.example', exchange)],
      /corp\.example is not an accepted domain.*New-AcceptedDomain -Name corp\.example -DomainName corp\.example/,
      /RemoteIPRanges/,
    ],
    [
      '5.7.54 for two domains names both',
      [rcpt('info@corp.example', exchange), rcpt('a@other.example', exchange)],
      /corp\.example, other\.example are not accepted domains/,
      /RemoteIPRanges/,
    ],
    [
      'a non-accepted-domain text without the enhanced code is recognised',
      [rcpt('info@corp.example', r(550, 'Unable to relay recipient in non-accepted domain'))],
      /corp\.example is not an accepted domain/,
      null,
    ],
    [
      'a relay refusal names the source address and RemoteIPRanges',
      [rcpt('info@corp.example', relay)],
      /add 192\.168\.1\.11 to RemoteIPRanges/,
      /accepted domain/,
    ],
  ];
  for (const [name, replies, want, unwanted] of table) {
    test(name, () => {
      const hint = connectorRefusalHint(replies, '192.168.1.11');
      assert.match(hint, want);
      if (unwanted) assert.doesNotMatch(hint, unwanted);
    });
  }
});
