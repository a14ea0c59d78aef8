// The filters: section, global and per mailbox, and how a mailbox plan picks its filters.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadFilters, mailboxPlan } from '../app/runtime.js';
import { silentLogger } from '../log.js';
import { ConfigError, parseConfig } from './index.js';

const MAILBOX = (name: string, extra = '') =>
  `  - { name: ${name}, host: pop.x, user: u, password: p, deliverTo: [a@corp.test]${extra} }\n`;

function parse(yaml: string) {
  return parseConfig(`target: { host: mx.corp.local }\n${yaml}`, {
    file: 'postbote.yaml',
    baseDir: '/',
    env: {},
  });
}

function error(yaml: string): ConfigError {
  try {
    parse(yaml);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

describe('filters configuration', () => {
  test('defaults: defer when a scanner is down, tag spam, quarantine viruses with a notice', () => {
    const config = parse(
      `filters:\n  scanners: [{ type: rspamd }, { type: clamd, socket: /run/clamav/clamd.ctl }]\nmailboxes:\n${MAILBOX('a')}`,
    );
    assert.deepEqual(config.filters, {
      scanners: [
        { type: 'rspamd', onError: 'defer' },
        { type: 'clamd', socket: '/run/clamav/clamd.ctl', onError: 'defer' },
      ],
      maxScanSize: 20 * 1024 * 1024,
      timeout: 60_000,
      concurrency: 4,
      spam: { action: 'tag' },
      virus: { action: 'notify' },
    });
  });

  test('a mailbox’s own filters replace the global ones; others share the global set and its limits', async () => {
    await loadFilters(); // as createRuntime does for a configuration with a filters section
    const config = parse(
      `filters:\n  scanners: [{ type: rspamd }]\nmailboxes:\n${MAILBOX('a')}${MAILBOX('b')}${MAILBOX('c', ', filters: { scanners: [{ type: spamd, port: 7830 }], spam: { action: quarantine } }')}`,
    );
    const [a, b, c] = config.mailboxes.map((m) => mailboxPlan(config, m, silentLogger()));
    assert.equal(a?.filters?.config.scanners[0]?.type, 'rspamd');
    assert.equal(a?.filters, b?.filters, 'one FilterSet: one concurrency cap per scanner for all of them');
    assert.deepEqual(c?.filters?.config.scanners, [{ type: 'spamd', port: 7830, onError: 'defer' }]);
    assert.equal(c?.filters?.config.spam.action, 'quarantine');
  });

  test('without a filters section no mailbox is filtered', () => {
    const config = parse(`mailboxes:\n${MAILBOX('a')}`);
    assert.equal(mailboxPlan(config, config.mailboxes[0]!, silentLogger()).filters, undefined);
  });

  const bad: Array<[string, string, RegExp]> = [
    [
      'redirect without an address',
      'filters: { scanners: [{ type: rspamd }], spam: { action: redirect } }',
      /redirectTo/,
    ],
    ['an unknown scanner', 'filters: { scanners: [{ type: amavis }] }', /type/],
    [
      'socket and port both',
      'filters: { scanners: [{ type: clamd, socket: /x, port: 3310 }] }',
      /socket and host\/port/,
    ],
    ['no scanner', 'filters: { scanners: [] }', /scanners/],
    ['an unknown key', 'filters: { scanners: [{ type: clamd }], quarantineAll: true }', /quarantineAll/],
  ];
  for (const [name, yaml, message] of bad) {
    test(`refuses ${name}`, () => assert.match(error(`${yaml}\nmailboxes: []\n`).message, message));
  }
});
