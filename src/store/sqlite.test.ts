// The store contract, run against every backend (test/support/store-backends.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backends } from '../../test/support/store-backends.js';
import type { NewMessage } from './types.js';

const msg = (uid: string): NewMessage => ({
  mailbox: 'info',
  uid,
  spoolKey: `k-${uid}`,
  size: 10,
  sha256: 'x',
  messageId: null,
  sender: 'a@b.c',
  subject: 's',
  recipients: [{ address: 'r@corp.local', status: 'pending', reason: 'fixed' }],
  fetchedAt: 1000,
});

for (const b of backends())
  describe(b.name, { skip: b.skip }, () => {
    test('records survive a reopen, attempts are logged, and migrations run once', async () => {
      const location = await b.location();
      let store = location.open();
      await store.migrate();
      const rec = await store.addSpooled(msg('u1'));
      await store.addSpooled(msg('u2'));
      await store.recordAttempt(
        rec.id,
        {
          state: 'delivered',
          recipients: [{ ...rec.recipients[0]!, status: 'delivered', reply: { code: 250, text: 'ok' } }],
          nextAttemptAt: null,
          reason: null,
          spoolKey: null,
          countsAsAttempt: true,
        },
        { at: 2000, outcome: 'delivered', detail: 'ok', recipients: [{ address: 'r@corp.local' }] },
      );
      await store.close();

      store = location.open();
      await store.migrate();
      const all = new Map((await store.messagesOf('info')).map((r) => [r.uid, r]));
      assert.equal(all.get('u1')?.state, 'delivered');
      assert.equal(all.get('u1')?.attempts, 1);
      assert.equal(all.get('u1')?.spoolKey, null);
      assert.equal(all.get('u2')?.state, 'spooled');
      assert.deepEqual(
        (await store.pending()).map((r) => r.uid),
        ['u2'],
      );
      assert.deepEqual([...(await store.spoolKeys())], ['k-u2']);
      assert.equal((await store.attemptsOf(rec.id))[0]?.outcome, 'delivered');
      await store.markSourceRemoved([rec.id], 3000);
      assert.equal((await store.get(rec.id))?.sourceRemovedAt, 3000);
      await store.detach([rec.id, all.get('u2')!.id], 4000);
      // A detached record no longer answers for its uid, but one still to deliver stays in the pass's view.
      assert.deepEqual(
        (await store.messagesOf('info')).map((r) => [r.uid, r.detachedAt]),
        [['u2', 4000]],
      );
      assert.equal((await store.get(rec.id))?.detachedAt, 4000);
      assert.deepEqual(await store.counts(), {
        spooled: 1,
        deferred: 0,
        delivered: 1,
        quarantined: 0,
        deleted: 0,
        duplicate: 0,
      });
      await store.close();
    });

    test('a uid may name several records; detached ones leave the view once final', async () => {
      const store = await b.fresh();
      // Servers reuse and repeat uids: the pass tells the records apart by size and headers.
      const first = await store.addSpooled({ ...msg('u1'), sourceSize: 10, headerDigest: 'd1' });
      const second = await store.addSpooled({ ...msg('u1'), sourceSize: 20, headerDigest: 'd2' });
      assert.deepEqual(
        (await store.messagesOf('info')).map((r) => [r.id, r.sourceSize, r.headerDigest]),
        [
          [first.id, 10, 'd1'],
          [second.id, 20, 'd2'],
        ],
      );
      await store.recordAttempt(
        first.id,
        {
          state: 'delivered',
          recipients: [],
          nextAttemptAt: null,
          reason: null,
          spoolKey: null,
          countsAsAttempt: true,
        },
        { at: 2, outcome: 'delivered', detail: 'ok', recipients: [] },
      );
      await store.detach([first.id, second.id], 3);
      // The delivered one is history; the pending one still waits for delivery from the spool.
      assert.deepEqual(
        (await store.messagesOf('info')).map((r) => r.id),
        [second.id],
      );
      assert.equal(
        await store.noteReadFailure({ mailbox: 'info', uid: 'u9', size: 5, error: 'x', at: 1 }),
        1,
      );
      assert.equal(
        await store.noteReadFailure({ mailbox: 'info', uid: 'u9', size: 5, error: 'y', at: 2 }),
        2,
      );
      // Read at last: the count starts again.
      await store.addSpooled(msg('u9'));
      assert.equal(
        await store.noteReadFailure({ mailbox: 'info', uid: 'u9', size: 5, error: 'z', at: 3 }),
        1,
      );
      await store.close();
    });
  });
