// NOTIFY postbote_run reaches every listening instance; a payload no Postbote would send (too long,
// control characters, empty) never reaches a scheduler; a listener whose connection is killed
// reconnects and hears the next one.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { postgresUnavailable } from '../../test/support/postgres.js';
import { sharedCluster } from '../../test/support/store-backends.js';
import { silentLogger } from '../log.js';
import {
  isOwnLease,
  MAX_RUN_PAYLOAD,
  notifyRun,
  RUN_CHANNEL,
  RunListener,
  runPayload,
} from './postgres-notify.js';

describe('runPayload: what a notification may carry', () => {
  const cases: Array<[string | undefined, string | undefined]> = [
    ['info', 'info'],
    ['Büro Köln', 'Büro Köln'],
    ['x'.repeat(MAX_RUN_PAYLOAD), 'x'.repeat(MAX_RUN_PAYLOAD)],
    ['x'.repeat(MAX_RUN_PAYLOAD + 1), undefined],
    ['', undefined],
    [undefined, undefined],
    ['info\nsales', undefined],
    ['info\u0000', undefined],
  ];
  for (const [payload, expected] of cases) {
    test(`${JSON.stringify(payload?.slice(0, 20))} (${payload?.length ?? 0} chars) → ${JSON.stringify(expected?.slice(0, 20))}`, () => {
      assert.equal(runPayload(payload), expected);
    });
  }
});

describe('isOwnLease: whose lease a holder row is', () => {
  const cases: Array<[string, string, boolean]> = [
    ['mx1#0a1b2c3d', 'mx1#0a1b2c3d', true],
    // A restarted or lingering process of the same label is another instance.
    ['mx1#0a1b2c3d', 'mx1#ffffffff', false],
    ['mx1#0a1b2c3d', 'mx1', true],
    ['mx10#0a1b2c3d', 'mx1', false],
    ['mx2#0a1b2c3d', 'mx1', false],
  ];
  for (const [owner, me, own] of cases) {
    test(`${owner} held, this is ${me}: ${own ? 'own' : 'another'}`, () =>
      assert.equal(isOwnLease(owner, me), own));
  }
});

describe('RunListener', { skip: postgresUnavailable() }, () => {
  const stops: Array<() => Promise<void>> = [];
  after(async () => {
    for (const stop of stops) await stop();
  });

  async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(20);
    }
  }

  test('a notify reaches both listeners; a huge or garbage payload is ignored', async () => {
    const url = await (await sharedCluster()).createDatabase('notify');
    const heard: Array<[string, string]> = [];
    const listeners = ['mx1', 'mx2'].map((instance) =>
      RunListener.start({
        url,
        instance,
        logger: silentLogger(),
        onRun: (mailbox) => heard.push([instance, mailbox]),
      }),
    );
    for (const l of listeners) stops.push(() => l.stop());
    await Promise.all(listeners.map((l) => l.listening()));
    const sender = new pg.Client({ connectionString: url });
    await sender.connect();
    stops.push(() => sender.end());
    await sender.query('SELECT pg_notify($1, $2)', [RUN_CHANNEL, 'x'.repeat(7000)]);
    await sender.query('SELECT pg_notify($1, $2)', [RUN_CHANNEL, 'info\r\nDELETE']);
    await sender.query('SELECT pg_notify($1, $2)', [RUN_CHANNEL, '']);
    await sender.query('SELECT pg_notify($1, $2)', ['another_channel', 'sales']);
    await notifyRun(sender, 'info');
    await until(() => heard.length >= 2, 'both listeners');
    await sleep(100);
    assert.deepEqual(heard.sort(), [
      ['mx1', 'info'],
      ['mx2', 'info'],
    ]);
  });

  test('a listener whose connection is killed reconnects and hears the next notification', async () => {
    const url = await (await sharedCluster()).createDatabase('notify');
    const heard: string[] = [];
    const listener = RunListener.start({
      url,
      instance: 'mx3',
      logger: silentLogger(),
      onRun: (mailbox) => heard.push(mailbox),
      reconnectMinMs: 50,
      reconnectMaxMs: 200,
    });
    stops.push(() => listener.stop());
    await listener.listening();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    stops.push(() => admin.end());
    const killed = await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'postbote listen mx3'",
    );
    assert.equal(killed.rowCount, 1);
    await until(() => !listener.connected, 'the loss to be noticed');
    await until(() => listener.connected, 'the reconnect');
    await notifyRun(admin, 'sales');
    await until(() => heard.length === 1, 'the notification after the reconnect');
    assert.deepEqual(heard, ['sales']);
  });
});
