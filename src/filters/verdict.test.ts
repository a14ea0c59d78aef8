// From scanner results to verdict, action and header fields: table-driven.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FiltersConfig } from '../config/types.js';
import type { ScanResult } from './types.js';
import { decide, fold, SCAN_HEADERS } from './verdict.js';

const config = (
  spam: Partial<FiltersConfig['spam']> = {},
  virus: FiltersConfig['virus']['action'] = 'notify',
) =>
  ({
    scanners: [],
    maxScanSize: 1000,
    timeout: 1000,
    concurrency: 1,
    spam: { action: 'tag', ...spam },
    virus: { action: virus },
  }) as FiltersConfig;

const rspamdSpam: ScanResult = {
  scanner: 'rspamd',
  type: 'rspamd',
  status: 'spam',
  score: 15,
  required: 15,
  symbols: ['GTUBE'],
  action: 'reject',
};
const spamdHam: ScanResult = {
  scanner: 'spamd',
  type: 'spamd',
  status: 'clean',
  score: 0.4,
  required: 5,
  symbols: [],
};
const clean: ScanResult = { scanner: 'clamd', type: 'clamd', status: 'clean' };
const eicar: ScanResult = {
  scanner: 'clamd',
  type: 'clamd',
  status: 'infected',
  virus: 'Eicar-Test-Signature.UNOFFICIAL',
};
const skipped: ScanResult = {
  scanner: 'rspamd',
  type: 'rspamd',
  status: 'skipped',
  reason: 'too large (9 bytes, maxScanSize 5)',
};

describe('decide', () => {
  const cases: Array<[string, ScanResult[], FiltersConfig, object, string[]]> = [
    [
      'clean mail is delivered with its scores',
      [spamdHam, clean],
      config(),
      { verdict: 'clean', action: 'deliver', notify: false },
      [
        'X-Spam-Status: No, score=0.4 required=5.0 tests=none scanner=spamd\r\n',
        'X-Spam-Score: 0.4\r\n',
        'X-Virus-Status: Clean\r\n',
      ],
    ],
    [
      'spam is tagged by default',
      [rspamdSpam, clean],
      config(),
      { verdict: 'spam', action: 'deliver' },
      [
        'X-Spam-Flag: YES\r\n',
        'X-Spam-Status: Yes, score=15.0 required=15.0 tests=GTUBE scanner=rspamd\r\n',
        'X-Spam-Score: 15.0\r\n',
        'X-Virus-Status: Clean\r\n',
      ],
    ],
    [
      'spam may be quarantined',
      [rspamdSpam],
      config({ action: 'quarantine' }),
      { verdict: 'spam', action: 'quarantine', notify: false },
      [],
    ],
    [
      'spam may be redirected',
      [rspamdSpam],
      config({ action: 'redirect', redirectTo: 'junk@corp.test' }),
      { action: 'redirect' },
      [],
    ],
    [
      'one scanner saying spam is enough',
      [spamdHam, rspamdSpam],
      config(),
      { verdict: 'spam' },
      ['X-Spam-Flag: YES\r\n'],
    ],
    [
      'a virus is quarantined and the postmaster told',
      [rspamdSpam, eicar],
      config({ action: 'tag' }),
      { verdict: 'virus', action: 'quarantine', notify: true },
      ['X-Virus-Status: Infected (Eicar-Test-Signature.UNOFFICIAL)\r\n'],
    ],
    [
      'virus.action quarantine does not tell',
      [eicar],
      config({}, 'quarantine'),
      { action: 'quarantine', notify: false },
      [],
    ],
    [
      'unscanned mail is delivered and marked',
      [skipped],
      config(),
      { verdict: 'unscanned', action: 'deliver' },
      ['X-Postbote-Filter: not scanned by rspamd: too large (9 bytes, maxScanSize 5)\r\n'],
    ],
  ];
  for (const [name, results, cfg, expected, headers] of cases) {
    test(name, () => {
      const v = decide(results, cfg, 1);
      for (const [k, value] of Object.entries(expected)) assert.equal(v[k as keyof typeof v], value, k);
      for (const h of headers)
        assert.ok(v.edits.add.includes(h), `${JSON.stringify(h)} in ${JSON.stringify(v.edits.add)}`);
      assert.deepEqual(v.edits.remove, [...SCAN_HEADERS]);
    });
  }
  test('the subject prefix applies to spam only', () => {
    assert.equal(
      decide([rspamdSpam], config({ subjectPrefix: '[SPAM] ' }), 1).edits.subjectPrefix,
      '[SPAM] ',
    );
    assert.equal(decide([spamdHam], config({ subjectPrefix: '[SPAM] ' }), 1).edits.subjectPrefix, undefined);
  });
  test('the summary names the scanners and what was done', () => {
    assert.equal(
      decide([rspamdSpam, clean], config({ action: 'quarantine' }), 1).summary,
      'spam (rspamd: spam 15.0/15.0, reject, GTUBE; clamd: clean): quarantined',
    );
  });
  test('scanner words cannot break the header', () => {
    const evil: ScanResult = { ...eicar, virus: 'X\r\nX-Spam-Status: No' };
    assert.ok(
      decide([evil], config(), 1).edits.add.includes('X-Virus-Status: Infected (X??X-Spam-Status: No)\r\n'),
    );
  });
});

describe('fold', () => {
  test('long fields are folded under 78 characters per line', () => {
    const folded = fold(
      `X-Spam-Status: Yes, score=9.0 tests=${Array.from({ length: 30 }, (_, i) => `RULE_${i}`).join(',')}`,
    );
    for (const line of folded.split('\r\n')) assert.ok(line.length <= 78, line);
    assert.equal(
      folded.replace(/\r\n\t/g, ''),
      `X-Spam-Status: Yes, score=9.0 tests=${Array.from({ length: 30 }, (_, i) => `RULE_${i}`).join(',')}\r\n`,
    );
  });
});
