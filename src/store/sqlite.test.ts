// The store contract, run against every backend (test/support/store-backends.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backends, newMessage } from '../../test/support/store-backends.js';
import { PostboteError } from '../errors.js';
import { isStoreConflict } from './lifecycle.js';
import type { AttemptUpdate, MessageState, NewMessage, Store } from './types.js';

const msg = (uid: string): NewMessage => newMessage(uid);

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

// Guarded state changes: an update names the state it expects; a writer that lost the race gets
// StoreConflictError and the winner's result stands.
const update = (state: MessageState, expect?: MessageState): AttemptUpdate => ({
  state,
  recipients: [],
  nextAttemptAt: state === 'deferred' ? 5000 : null,
  reason: state,
  spoolKey: null,
  countsAsAttempt: true,
  ...(expect ? { expect } : {}),
});

const log = (outcome: string) => ({ at: 2000, outcome, detail: outcome, recipients: [] });

for (const b of backends()) {
  describe(`guarded transitions (${b.name})`, { skip: b.skip }, () => {
    test('an update expecting a state the record has left is refused, the record unchanged', async () => {
      const store = await b.fresh();
      const rec = await store.addSpooled(msg('u1'));
      await store.recordAttempt(rec.id, update('delivered', 'spooled'), log('delivered'));
      await assert.rejects(
        store.recordAttempt(rec.id, update('deferred', 'spooled'), log('deferred')),
        (e: unknown) => isStoreConflict(e) && e.actual === 'delivered' && e.expected === 'spooled',
      );
      const after = await store.get(rec.id);
      assert.equal(after?.state, 'delivered');
      assert.equal(after?.attempts, 1);
      assert.deepEqual(
        (await store.attemptsOf(rec.id)).map((a) => a.outcome),
        ['delivered'],
        'the loser logged nothing',
      );
      await store.close();
    });

    test('a final state is never left: delivered → spooled is refused', async () => {
      const store = await b.fresh();
      const rec = await store.addSpooled(msg('u1'));
      await store.recordAttempt(rec.id, update('delivered'), log('delivered'));
      await assert.rejects(
        store.recordAttempt(rec.id, update('spooled'), log('released')),
        /cannot go from delivered/,
      );
      assert.equal((await store.get(rec.id))?.state, 'delivered');
      await store.close();
    });

    test('two writers that read the same record race: exactly one wins, the other gets the typed error', async () => {
      const location = await b.location();
      const one = location.open();
      await one.migrate();
      const two = location.open();
      const rounds = 10;
      const ids: number[] = [];
      for (let i = 0; i < rounds; i++) ids.push((await one.addSpooled(msg(`r${i}`))).id);
      let conflicts = 0;
      for (const id of ids) {
        // Both saw it spooled; both want to record their own outcome.
        const results = await Promise.allSettled([
          one.recordAttempt(id, update('delivered', 'spooled'), log('delivered')),
          two.recordAttempt(id, update('quarantined', 'spooled'), log('quarantined')),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(won.length, 1, `exactly one writer wins message ${id}`);
        assert.ok(isStoreConflict(lost[0]?.reason), String(lost[0]?.reason));
        conflicts++;
        const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<Store['recordAttempt']>>>).value;
        assert.equal((await one.get(id))?.state, winner.state, 'the winner’s result stands');
        assert.equal((await one.attemptsOf(id)).length, 1);
      }
      assert.equal(conflicts, rounds);
      await one.close();
      await two.close();
    });

    test('writers that do not name the state still cannot both apply: the store reads and guards it', async () => {
      const location = await b.location();
      const one = location.open();
      await one.migrate();
      const two = location.open();
      for (let i = 0; i < 10; i++) {
        const { id } = await one.addSpooled(msg(`n${i}`));
        const results = await Promise.allSettled([
          one.recordAttempt(id, update('delivered'), log('delivered')),
          two.recordAttempt(id, update('quarantined'), log('quarantined')),
        ]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `one winner for ${id}`);
        const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        // Lost between read and write (conflict), or read the winner's final state (refused move).
        assert.ok(
          lost?.reason instanceof PostboteError && lost.reason.code === 'STORE',
          String(lost?.reason),
        );
        assert.equal((await one.attemptsOf(id)).length, 1);
      }
      await one.close();
      await two.close();
    });
  });
}
