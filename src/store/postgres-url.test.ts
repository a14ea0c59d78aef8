import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PostboteError } from '../errors.js';
import { checkUrl, maskUrl, scrub } from './postgres-url.js';

describe('the PostgreSQL state URL', () => {
  const masks: Array<[string, string]> = [
    ['postgres://pb:hunter2@db/postbote', 'postgres://pb:****@db/postbote'],
    [
      'postgresql://pb:p%40ss@db:5433/postbote?sslmode=verify-full',
      'postgresql://pb:****@db:5433/postbote?sslmode=verify-full',
    ],
    [
      'postgres://pb@db/postbote?password=hunter2&sslmode=disable',
      'postgres://pb@db/postbote?password=****&sslmode=disable',
    ],
    ['postgres://db/postbote', 'postgres://db/postbote'],
  ];
  for (const [url, masked] of masks) {
    test(`masks ${masked}`, () => assert.equal(maskUrl(url), masked));
  }

  test('scrubs the password wherever a driver message quotes it, raw or decoded', () => {
    const url = 'postgres://pb:p%40ssw0rd@db/postbote';
    assert.equal(
      scrub(`failed for ${url}: password p@ssw0rd rejected (p%40ssw0rd)`, url),
      'failed for postgres://pb:****@db/postbote: password **** rejected (****)',
    );
  });

  const refused: Array<[string, RegExp]> = [
    ['postgres://pb:x@db/postbote?sslmode=verify-ful', /unknown sslmode verify-ful/],
    ['postgres://pb:x@db/', /names no database/],
    ['postgres://pb:x@db', /names no database/],
  ];
  for (const [url, why] of refused) {
    test(`refuses ${maskUrl(url)}`, () => {
      assert.throws(
        () => checkUrl(url),
        (e: unknown) =>
          e instanceof PostboteError &&
          e.code === 'CONFIG_INVALID' &&
          why.test(e.message) &&
          !e.message.includes(':x@'),
      );
    });
  }
});
