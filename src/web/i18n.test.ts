import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig } from '../config/index.js';
import { pickLanguage, preferredLanguage, textsFor } from './i18n.js';

describe('language of the admin pages', () => {
  const cases: Array<[string | undefined, 'en' | 'de' | undefined]> = [
    [undefined, undefined],
    ['', undefined],
    ['de', 'de'],
    ['de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7', 'de'],
    ['en-US,en;q=0.9,de;q=0.8', 'en'],
    ['fr-CH, fr;q=0.9, de;q=0.7, en;q=0.6', 'de'],
    ['fr-CH, fr;q=0.9', undefined],
    ['en;q=0.5, DE-at;q=0.8', 'de'],
    ['de;q=0, en;q=0.1', 'en'],
    ['de;q=abc', undefined],
    ['*', undefined],
    ['de, en', 'de'],
    ['en, de', 'en'],
  ];
  for (const [header, expected] of cases) {
    test(`Accept-Language ${JSON.stringify(header)} → ${expected ?? 'none'}`, () => {
      assert.equal(preferredLanguage(header), expected);
    });
  }

  test('web.language wins over the browser; English when nothing fits', () => {
    assert.equal(pickLanguage('en', 'de'), 'en');
    assert.equal(pickLanguage('de', 'en-US'), 'de');
    assert.equal(pickLanguage(undefined, 'de-AT'), 'de');
    assert.equal(pickLanguage(undefined, 'fr'), 'en');
  });

  test('both catalogues have every text (the type forces it; this catches an empty one)', () => {
    const walk = (a: unknown, b: unknown, path: string): void => {
      if (typeof a === 'object' && a !== null) {
        assert.deepEqual(Object.keys(a).sort(), Object.keys(b as object).sort(), path);
        for (const k of Object.keys(a)) walk((a as never)[k], (b as never)[k], `${path}.${k}`);
      } else {
        assert.equal(typeof b, typeof a, path);
        if (typeof b === 'string') assert.ok(b.length > 0, `${path} is empty`);
      }
    };
    walk(textsFor('en'), textsFor('de'), 'texts');
  });
});

describe('web.language in the configuration', () => {
  const parse = (web: string) =>
    parseConfig(`target: { host: mx.corp.local }\nmailboxes: []\nweb:\n${web}`, {
      file: 'postbote.yaml',
      baseDir: '/tmp',
      env: {},
    });

  test('en or de; unset leaves the choice to each browser', () => {
    assert.equal(parse('  language: de\n').web?.language, 'de');
    assert.equal(parse('  language: en\n').web?.language, 'en');
    assert.equal(parse('  listen: 127.0.0.1:8025\n').web?.language, undefined);
  });

  test('another language is refused with the file position', () => {
    assert.throws(
      () => parse('  language: fr\n'),
      (err: unknown) => err instanceof ConfigError && /postbote\.yaml:4:\d+: web\.language/.test(err.message),
    );
  });
});
