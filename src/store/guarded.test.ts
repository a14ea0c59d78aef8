// Guarded state changes on every backend: an update names the state it expects; a writer that lost
// the race gets StoreConflictError and the winner's result stands.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backends } from '../../test/support/store-backends.js';
import { PostboteError } from '../errors.js';
import { isStoreConflict } from './lifecycle.js';
import type { AttemptUpdate, MessageState, NewMessage, Store } from './types.js';

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
