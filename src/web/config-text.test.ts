import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configText, formatSize } from './config-text.js';

describe('configuration as written', () => {
  const sizes: Array<[number, string]> = [
    [104_857_600, '100MB'],
    [37_748_736, '36MB'],
    [1024 ** 3, '1GB'],
    [1536, '1536B'],
    [2048, '2KB'],
    [0, '0B'],
    [1000, '1000B'],
  ];
  for (const [n, text] of sizes) test(`${n} bytes → ${text}`, () => assert.equal(formatSize(n), text));

  test('durations and sizes get their units by key; counts stay numbers', () => {
    const text = configText({
      delivery: {
        retry: { initial: 30_000, max: 3_600_000, expireAfter: 432_000_000 },
        maxMessageSize: 104_857_600,
        maxReceivedHeaders: 30,
      },
      scheduler: { concurrency: 8, interval: 300_000 },
      mailboxes: [{ name: 'info', port: 995, interval: 60_000, timeouts: { idle: 90_000 } }],
      receive: [{ maxRecipients: 200, rateLimits: { connectionsPerMinute: 600 } }],
      web: { sessionLifetime: 28_800_000 },
    });
    for (const line of [
      'initial: 30s',
      'max: 1h',
      'expireAfter: 5d',
      'maxMessageSize: 100MB',
      'interval: 5m',
      'interval: 1m',
      'idle: 90s',
      'sessionLifetime: 8h',
      'maxReceivedHeaders: 30',
      'concurrency: 8',
      'port: 995',
      'maxRecipients: 200',
      'connectionsPerMinute: 600',
    ]) {
      assert.ok(text.includes(line), `${line} in\n${text}`);
    }
  });

  test("the filters section (global and a mailbox's own) and the shutdown grace are written with units", () => {
    const text = configText({
      scheduler: { shutdownGrace: 30_000, concurrency: 8 },
      filters: {
        scanners: [{ type: 'rspamd', port: 11333 }],
        maxScanSize: 20_971_520,
        timeout: 60_000,
        concurrency: 4,
      },
      mailboxes: [{ name: 'info', filters: { maxScanSize: 10_485_760, timeout: 5_000, concurrency: 2 } }],
    });
    for (const line of [
      'shutdownGrace: 30s',
      'maxScanSize: 20MB',
      'timeout: 1m',
      'maxScanSize: 10MB',
      'timeout: 5s',
      'concurrency: 4',
      'concurrency: 2',
      'port: 11333',
    ]) {
      assert.ok(text.includes(line), `${line} in\n${text}`);
    }
  });
});
