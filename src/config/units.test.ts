import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { closest, editDistance } from './suggest.js';
import { formatDuration, parseDuration, parseSize, suggestDuration, suggestSize } from './units.js';

describe('parseDuration', () => {
  const cases: [unknown, number | undefined][] = [
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['1w', 604_800_000],
    ['250ms', 250],
    ['1.5h', 5_400_000],
    [' 10 s ', 10_000],
    ['5M', 300_000],
    [300, 300_000],
    ['300', 300_000],
    [0.5, 500],
    [0, 0],
    ['5 minutes', undefined],
    ['5y', undefined],
    ['', undefined],
    ['-5s', undefined],
    [-1, undefined],
    [Number.NaN, undefined],
    [true, undefined],
    [null, undefined],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(parseDuration(input), expected));
  }
});

describe('parseSize', () => {
  const cases: [unknown, number | undefined][] = [
    ['25MB', 25 * 1024 * 1024],
    ['512KB', 512 * 1024],
    ['512kb', 512 * 1024],
    ['1GB', 1024 ** 3],
    ['1.5MiB', 1.5 * 1024 * 1024],
    ['100 MB', 100 * 1024 * 1024],
    ['10M', 10 * 1024 * 1024],
    ['1000B', 1000],
    ['1000', 1000],
    [4096, 4096],
    [1.5, undefined],
    ['25XB', undefined],
    ['MB', undefined],
    [-1, undefined],
    [false, undefined],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(parseSize(input), expected));
  }
});

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [300_000, '5m'],
    [90_000, '90s'],
    [172_800_000, '2d'],
    [250, '250ms'],
    [0, '0ms'],
  ];
  for (const [input, expected] of cases) {
    test(`${input} → ${expected}`, () => assert.equal(formatDuration(input), expected));
  }
});

describe('did-you-mean suggestions', () => {
  test('edit distance counts insertions, deletions and substitutions, ignoring case', () => {
    assert.equal(editDistance('deliverTo', 'delivrTo'), 1);
    assert.equal(editDistance('deliverto', 'deliverTo'), 0);
    assert.equal(editDistance('tls', 'tsl'), 2);
    assert.equal(editDistance('', 'abc'), 3);
  });

  test('suggests the closest candidate only when it is a plausible typo', () => {
    assert.equal(closest('delivrTo', ['deliverTo', 'catchAll', 'fallback']), 'deliverTo');
    assert.equal(closest('startls', ['none', 'starttls', 'tls']), 'starttls');
    assert.equal(closest('passwd', ['password', 'passwordFile', 'user']), 'password');
    assert.equal(closest('colour', ['host', 'port']), undefined);
  });
});

describe('suggestDuration and suggestSize', () => {
  const durations: Array<[unknown, string | undefined]> = [
    ['5 minutes', '5m'],
    ['1 hour', '1h'],
    ['30 sec', '30s'],
    ['2 Tage', '2d'],
    ['1,5 Stunden', '1.5h'],
    ['5 parsecs', undefined],
    [300, undefined],
  ];
  for (const [value, want] of durations) {
    test(`${JSON.stringify(value)} suggests ${want}`, () => assert.equal(suggestDuration(value), want));
  }
  const sizes: Array<[unknown, string | undefined]> = [
    ['25 megs', '25MB'],
    ['500 kilobytes', '500KB'],
    ['1 gig', '1GB'],
    ['25 apples', undefined],
  ];
  for (const [value, want] of sizes) {
    test(`${JSON.stringify(value)} suggests ${want}`, () => assert.equal(suggestSize(value), want));
  }
});
