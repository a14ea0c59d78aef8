// Table tests of what CAPA says beyond login: UTF8, LOGIN-DELAY, EXPIRE, unused extensions.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_LOGIN_DELAY_SECONDS, serverPolicy, unusedCapabilities } from './capabilities.js';
import { parseCapa } from './listings.js';

describe('serverPolicy', () => {
  const cases: Array<[string, string[], ReturnType<typeof serverPolicy>]> = [
    ['nothing announced', ['USER', 'UIDL'], { utf8: false }],
    ['UTF8 (Courier)', ['UTF8'], { utf8: true }],
    ['UTF8 USER (user names may be UTF-8 too)', ['UTF8 USER'], { utf8: true }],
    ['LOGIN-DELAY in seconds', ['LOGIN-DELAY 900'], { utf8: false, loginDelay: 900 }],
    [
      'LOGIN-DELAY per user before login: a lower bound',
      ['LOGIN-DELAY 300 USER'],
      { utf8: false, loginDelay: 300 },
    ],
    ['LOGIN-DELAY not a number is ignored', ['LOGIN-DELAY soon'], { utf8: false }],
    [
      'LOGIN-DELAY absurdly large is capped',
      ['LOGIN-DELAY 999999999'],
      { utf8: false, loginDelay: MAX_LOGIN_DELAY_SECONDS },
    ],
    ['EXPIRE 0: deleted after retrieval', ['EXPIRE 0'], { utf8: false, expire: 0 }],
    ['EXPIRE NEVER', ['EXPIRE NEVER'], { utf8: false, expire: 'never' }],
    ['EXPIRE never, any case', ['expire never'], { utf8: false, expire: 'never' }],
    ['EXPIRE days per user', ['EXPIRE 31 USER'], { utf8: false, expire: 31 }],
    ['EXPIRE garbage is ignored', ['EXPIRE -1'], { utf8: false }],
  ];
  for (const [name, lines, want] of cases) {
    test(name, () => assert.deepEqual(serverPolicy(parseCapa(lines)), want));
  }
});

describe('unusedCapabilities', () => {
  test('names what Postbote does not use, once each, and only the SASL mechanisms it lacks', () => {
    const caps = parseCapa([
      'TOP',
      'UIDL',
      'USER',
      'SASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256',
      'PIPELINING',
      'UTF8 USER',
      'LANG',
      'X-CUSTOM a b',
      'IMPLEMENTATION Courier',
      'LOGIN-DELAY 10',
      'EXPIRE NEVER',
    ]);
    assert.deepEqual(unusedCapabilities(caps, true), [
      'APOP (greeting timestamp)',
      'SASL CRAM-MD5 SCRAM-SHA-256',
      'LANG',
      'X-CUSTOM a b',
    ]);
  });

  test('nothing unused on a plain server', () => {
    assert.deepEqual(unusedCapabilities(parseCapa(['USER', 'UIDL', 'SASL PLAIN']), false), []);
  });
});
