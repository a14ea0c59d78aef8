// Table tests of the receive connector's pure parts: IP ranges, the RCPT policy, the one SMTP answer
// for per-recipient next-hop replies, and the rate limiter.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RecipientReply } from '../smtp/types.js';
import { ipMatcher, parseIpRange } from './ip-ranges.js';
import { hasSourceRoute, RecipientPolicy } from './policy.js';
import { RateLimiter } from './rate-limit.js';
import { combineReplies } from './relay.js';

describe('remoteIpRanges', () => {
  const cases: Array<[string, boolean]> = [
    ['192.168.1.10', true],
    ['10.0.0.0/24', true],
    ['10.0.0.1-10.0.0.20', true],
    ['fd00::/64', true],
    ['fd00::1-fd00::ff', true],
    ['10.0.0.20-10.0.0.1', false],
    ['10.0.0.1-fd00::1', false],
    ['10.0.0.0/33', false],
    ['10.0.0.0/8/1', false],
    ['corp.local', false],
    ['', false],
  ];
  for (const [text, valid] of cases) {
    test(`${JSON.stringify(text)} is ${valid ? 'valid' : 'refused'}`, () =>
      assert.equal(parseIpRange(text) !== undefined, valid));
  }

  test('matches addresses, blocks, ranges and IPv4-mapped IPv6 clients; an empty list admits no one', () => {
    const allowed = ipMatcher(['192.168.1.10', '10.0.0.0/24', '172.16.0.5-172.16.0.9', 'fd00::/64']);
    for (const ip of ['192.168.1.10', '::ffff:192.168.1.10', '10.0.0.255', '172.16.0.9', 'fd00::abcd']) {
      assert.equal(allowed(ip), true, ip);
    }
    for (const ip of ['192.168.1.11', '10.0.1.0', '172.16.0.10', 'fd01::1', 'garbage'])
      assert.equal(allowed(ip), false, ip);
    assert.equal(ipMatcher([])('127.0.0.1'), false);
  });
});

describe('RCPT policy', () => {
  const policy = new RecipientPolicy([
    { domain: 'corp.local' },
    { domain: 'team.example', recipients: ['alice@team.example'] },
  ]);
  const cases: Array<[string, string]> = [
    ['Bob@Corp.Local', 'ok bob@corp.local'],
    ['alice@TEAM.example', 'ok alice@team.example'],
    ['mallory@team.example', '550 5.1.1'],
    ['x@elsewhere.example', '550 5.7.54'],
    ['x@corp.local.evil.example', '550 5.7.54'],
    ['a/b@corp.local', '553 5.1.3'],
    ['../x@corp.local', '553 5.1.3'],
    ['.x@corp.local', '553 5.1.3'],
    ['nodomain', '553 5.1.3'],
  ];
  for (const [address, expected] of cases) {
    test(`${address} → ${expected}`, () => {
      const v = policy.check(address);
      assert.equal(v.ok ? `ok ${v.address}` : `${v.code} ${v.message.split(' ')[0]}`, expected);
    });
  }
});

describe('RCPT policy: internationalized domains match in Unicode and A-label form, in any case', () => {
  // Configured once in Unicode and once as an A-label; smtp-server hands the listener Unicode domains.
  const policy = new RecipientPolicy([
    { domain: 'bücher.example' },
    { domain: 'xn--mnchen-3ya.example', recipients: ['anna@xn--mnchen-3ya.example'] },
    { domain: 'köln.example', recipients: ['jan@köln.example'] },
  ]);
  const cases: Array<[string, string]> = [
    ['bob@bücher.example', 'ok bob@xn--bcher-kva.example'],
    ['bob@BÜCHER.example', 'ok bob@xn--bcher-kva.example'],
    ['Bob@xn--bcher-kva.example', 'ok bob@xn--bcher-kva.example'],
    ['bob@XN--BCHER-KVA.EXAMPLE', 'ok bob@xn--bcher-kva.example'],
    ['anna@münchen.example', 'ok anna@xn--mnchen-3ya.example'],
    ['ANNA@MÜNCHEN.EXAMPLE', 'ok anna@xn--mnchen-3ya.example'],
    ['anna@xn--mnchen-3ya.example', 'ok anna@xn--mnchen-3ya.example'],
    ['otto@münchen.example', '550 5.1.1'],
    ['jan@xn--kln-sna.example', 'ok jan@xn--kln-sna.example'],
    ['jan@KÖLN.example', 'ok jan@xn--kln-sna.example'],
    ['bob@buecher.example', '550 5.7.54'],
  ];
  for (const [address, expected] of cases) {
    test(`${address} → ${expected}`, () => {
      const v = policy.check(address);
      assert.equal(v.ok ? `ok ${v.address}` : `${v.code} ${v.message.split(' ')[0]}`, expected);
    });
  }
});

describe('RCPT policy: sender-specified routing is refused unless allowed', () => {
  const strict = new RecipientPolicy([{ domain: 'corp.local' }]);
  const lenient = new RecipientPolicy([{ domain: 'corp.local' }], { allowSenderRouting: true });
  const cases: Array<[string, boolean, string, string]> = [
    ['user%other.example@corp.local', false, '550 5.7.1', 'ok user%other.example@corp.local'],
    ['other.example!user@corp.local', false, '550 5.7.1', 'ok other.example!user@corp.local'],
    ['user@corp.local', true, '550 5.7.1', 'ok user@corp.local'],
    ['user@corp.local', false, 'ok user@corp.local', 'ok user@corp.local'],
    ['user%other.example@elsewhere.example', false, '550 5.7.54', '550 5.7.54'],
  ];
  for (const [address, sourceRoute, refused, allowed] of cases) {
    test(`${address}${sourceRoute ? ' (source-routed)' : ''} → ${refused}, allowed: ${allowed}`, () => {
      const show = (v: ReturnType<RecipientPolicy['check']>) =>
        v.ok ? `ok ${v.address}` : `${v.code} ${v.message.split(' ')[0]}`;
      assert.equal(show(strict.check(address, sourceRoute)), refused);
      assert.equal(show(lenient.check(address, sourceRoute)), allowed);
    });
  }

  const routes: Array<[string, boolean]> = [
    ['RCPT TO:<@relay.example:user@corp.local>', true],
    ['RCPT TO:<@a.example,@b.example:user@corp.local>', true],
    ['rcpt to: <@a.example:user@corp.local> NOTIFY=NEVER', true],
    ['RCPT TO:<user@corp.local>', false],
    ['RCPT TO:<user@corp.local> ORCPT=rfc822;@x:y', false],
    ['RCPT TO:<"@x:y"@corp.local>', false],
  ];
  for (const [command, routed] of routes) {
    test(`${JSON.stringify(command)} ${routed ? 'carries' : 'carries no'} source route`, () =>
      assert.equal(hasSourceRoute(command), routed));
  }
});

describe('one SMTP answer for the next hop’s per-recipient replies', () => {
  const r = (address: string, code: number, enhanced?: string): RecipientReply => ({
    address,
    stage: 'DATA',
    reply: { code, enhanced, text: code < 300 ? 'ok' : 'no' },
  });
  const cases: Array<[string, RecipientReply[], RegExp]> = [
    ['all accepted', [r('a@x', 250), r('b@x', 250)], /^250 2\.0\.0 /],
    [
      'one deferred, one accepted',
      [r('a@x', 250), r('b@x', 452, '4.2.2')],
      /^451 4\.3\.0 .*<b@x>.*accepted for 1 other/,
    ],
    ['one refused, one deferred', [r('a@x', 550, '5.1.1'), r('b@x', 451)], /^451 4\.3\.0 .*<b@x>/],
    [
      'one refused, one accepted',
      [r('a@x', 250), r('b@x', 550, '5.1.1')],
      /^550 5\.1\.1 .*<b@x>.*accepted for 1 other/,
    ],
    ['all refused', [r('a@x', 552, '5.2.2')], /^552 5\.2\.2 .*<a@x>/],
  ];
  for (const [name, replies, expected] of cases) {
    test(name, () => {
      const answer = combineReplies(replies, 'lmtp 127.0.0.1:24');
      assert.match(`${answer.code} ${answer.message}`, expected);
    });
  }
});

test('the rate limiter allows a burst up to the limit per key, then refills over the minute', () => {
  let now = 0;
  const limiter = new RateLimiter(3, () => now);
  assert.deepEqual(
    [1, 2, 3, 4].map(() => limiter.take('a')),
    [true, true, true, false],
  );
  assert.equal(limiter.take('b'), true, 'other keys are independent');
  now += 20_000; // a third of a minute earns one token back
  assert.deepEqual([limiter.take('a'), limiter.take('a')], [true, false]);
});
