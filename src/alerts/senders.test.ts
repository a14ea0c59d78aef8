// The webhook's bounds (deadline, URL secret never in an error) and the pure pieces around it:
// the digest's time, the disk condition.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, test } from 'node:test';
import { digestDue } from './digest-time.js';
import { diskObservation } from './observe.js';
import { postWebhook, webhookPayload, webhookWhere } from './webhook.js';

const alert = { key: 'disk', title: 'disk full', detail: 'x', since: 0, raisedAt: 0 };

describe('webhook', () => {
  test('a webhook that never answers fails after its timeout, naming only the host', async () => {
    const server = createServer(() => undefined); // never answers
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const url = `http://127.0.0.1:${port}/services/T0/B0/SECRET`;
    const started = Date.now();
    const err = await postWebhook(url, webhookPayload(alert, false, 'h', 0), 300).then(
      () => assert.fail('expected a timeout'),
      (e: Error) => e,
    );
    assert.ok(Date.now() - started < 5_000);
    assert.match(err.message, /no answer within 300 ms/);
    assert.doesNotMatch(JSON.stringify(err) + String(err.stack), /SECRET/);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test('logs name the scheme and host only', () => {
    assert.equal(
      webhookWhere('https://hooks.slack.com/services/T/B/SECRET?x=1'),
      'webhook https://hooks.slack.com',
    );
  });
});

describe('digest time', () => {
  const at = (h: number, m = 0) => new Date(2026, 5, 10, h, m).getTime();
  const cases: Array<[string, number, number, boolean]> = [
    ['not before 07:00', at(6), at(6, 59), false],
    ['at 07:00 after a start at 06:00', at(6), at(7), true],
    ['not twice the same day', at(7, 1), at(20), false],
    ['the next day', at(7, 1), at(7, 1) + 86_400_000, true],
  ];
  for (const [name, last, now, due] of cases)
    test(name, () => assert.equal(digestDue('07:00', last, now), due));
});

describe('disk condition', () => {
  const GB = 1024 ** 3;
  const limits = { usedPercent: 90, minFree: GB };
  const cases: Array<[string, { bsize: number; blocks: number; bfree: number; bavail: number }, boolean]> = [
    [
      'half full, plenty free',
      { bsize: 4096, blocks: 10_000_000, bfree: 5_000_000, bavail: 5_000_000 },
      false,
    ],
    ['91 % used', { bsize: 4096, blocks: 10_000_000, bfree: 900_000, bavail: 900_000 }, true],
    [
      'little used but under 1 GB free (small disk)',
      { bsize: 4096, blocks: 400_000, bfree: 200_000, bavail: 200_000 },
      true,
    ],
  ];
  for (const [name, stats, alerting] of cases)
    test(name, () => assert.equal(diskObservation('/s', stats, limits).length > 0, alerting));
});
