import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasOwnTrace, receivedHeader, rfc5322Date } from './received.js';

test('the Received header names source, host, protocol, id, the single recipient and the date', () => {
  const h = receivedHeader({
    from: 'pop.provider.example',
    by: 'postbote.corp.local',
    protocol: 'pop3',
    secure: true,
    id: 'abc',
    recipients: ['bob@corp.local'],
    date: new Date(Date.UTC(2026, 10, 28, 4, 5, 6)),
  });
  assert.equal(
    h,
    'Received: from pop.provider.example\r\n\tby postbote.corp.local (Postbote) with POP3S\r\n\tid abc\r\n' +
      '\tfor <bob@corp.local>; Sat, 28 Nov 2026 04:05:06 +0000\r\n',
  );
  assert.ok(hasOwnTrace([h.slice('Received: '.length)], 'POSTBOTE.corp.local'));
});

test('several recipients are not named, so Bcc recipients stay hidden from each other', () => {
  const h = receivedHeader({
    from: 'p',
    by: 'b',
    protocol: 'pop3',
    secure: false,
    id: 'x',
    recipients: ['a@c.d', 'b@c.d'],
    date: new Date(0),
  });
  assert.doesNotMatch(h, /for </);
  assert.match(h, /with POP3\r\n/);
});

test('dates are RFC 5322', () => {
  assert.equal(rfc5322Date(new Date(Date.UTC(2024, 1, 29, 23, 59, 0))), 'Thu, 29 Feb 2024 23:59:00 +0000');
});
