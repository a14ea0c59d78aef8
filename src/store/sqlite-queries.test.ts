import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backends } from '../../test/support/store-backends.js';
import type { NewMessage, SessionRecord, Store } from './types.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 0, 1);

function message(n: number, extra: Partial<NewMessage> = {}): NewMessage {
  return {
    mailbox: n % 2 === 0 ? 'info' : 'sales',
    uid: `u${n}`,
    spoolKey: `k${n}`,
    size: 100 + n,
    sha256: 'x',
    messageId: `m${n}@example.net`,
    sender: `sender${n}@example.net`,
    subject: `Subject ${n}`,
    recipients: [{ address: `user${n}@corp.local`, status: 'pending', reason: 'deliverTo' }],
    fetchedAt: T0 + n * HOUR,
    ...extra,
  };
}

function session(
  mailbox: string,
  endedAt: number,
  fetched: number,
  error: string | null = null,
): SessionRecord {
  return {
    mailbox,
    startedAt: endedAt - 1000,
    endedAt,
    listed: fetched,
    fetched,
    delivered: fetched,
    deferred: 0,
    quarantined: 0,
    removed: fetched,
    bytes: fetched * 100,
    error,
  };
}

for (const b of backends())
  describe(`store queries for the web page (${b.name})`, { skip: b.skip }, () => {
    let store: Store;
    after(() => store?.close());
    before(async () => {
      store = await b.fresh();
      for (let n = 1; n <= 6; n++) await store.addSpooled(message(n));
      await store.addSpooled(message(7, { subject: '100% off_sale' }));
      const rec = await store.get(3);
      await store.recordAttempt(
        3,
        {
          state: 'quarantined',
          recipients: rec!.recipients,
          nextAttemptAt: null,
          reason: 'refused',
          spoolKey: 'k3',
          countsAsAttempt: true,
        },
        { at: T0, outcome: 'quarantined', detail: 'refused', recipients: [] },
      );
      await store.recordSession(session('info', T0 + 30 * 60_000, 2));
      await store.recordSession(session('info', T0 + 2 * HOUR + 1, 3, 'pop3: login failed'));
      await store.recordSession(session('sales', T0 + 2 * HOUR + 5, 4));
      await store.recordSession(session('sales', T0 - 1, 99));
    });

    test('searches newest first with a total, and combines filters', async () => {
      const all = await store.searchMessages({ limit: 3 });
      assert.equal(all.total, 7);
      assert.deepEqual(
        all.messages.map((m) => m.uid),
        ['u7', 'u6', 'u5'],
      );
      const page2 = await store.searchMessages({ limit: 3, offset: 3 });
      assert.deepEqual(
        page2.messages.map((m) => m.uid),
        ['u4', 'u3', 'u2'],
      );
      const info = await store.searchMessages({ mailbox: 'info', states: ['spooled'] });
      assert.deepEqual(
        info.messages.map((m) => m.uid),
        ['u6', 'u4', 'u2'],
      );
      assert.equal((await store.searchMessages({ states: ['quarantined'] })).messages[0]?.uid, 'u3');
      assert.equal((await store.searchMessages({ recipient: 'user5@' })).messages[0]?.uid, 'u5');
      assert.equal((await store.searchMessages({ messageId: 'm4@' })).messages[0]?.uid, 'u4');
      assert.equal((await store.searchMessages({ text: 'sender6' })).total, 1);
      const window = await store.searchMessages({ since: T0 + 2 * HOUR, until: T0 + 4 * HOUR });
      assert.deepEqual(
        window.messages.map((m) => m.uid),
        ['u3', 'u2'],
      );
    });

    test('user input is matched literally, never as a LIKE wildcard', async () => {
      assert.equal((await store.searchMessages({ subject: '100%' })).total, 1);
      assert.equal((await store.searchMessages({ subject: 'off_s' })).total, 1);
      assert.equal((await store.searchMessages({ subject: '_' })).total, 1);
      assert.equal((await store.searchMessages({ subject: '%' })).total, 1);
    });

    test('lists a mailbox’s sessions newest first', async () => {
      const sessions = await store.sessionsOf('info', 10);
      assert.deepEqual(
        sessions.map((s) => [s.fetched, s.error]),
        [
          [3, 'pop3: login failed'],
          [2, null],
        ],
      );
    });

    test('buckets activity by hour and counts per mailbox since a time', async () => {
      const buckets = await store.activity(T0, HOUR, 4);
      assert.deepEqual(
        buckets.map((b) => [b.start - T0, b.fetched, b.delivered]),
        [
          [0, 2, 2],
          [HOUR, 0, 0],
          [2 * HOUR, 7, 7],
          [3 * HOUR, 0, 0],
        ],
      );
      assert.deepEqual([...(await store.fetchedSince(T0))].sort(), [
        ['info', 5],
        ['sales', 4],
      ]);
    });
  });
