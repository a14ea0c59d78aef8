// Leases with fencing tokens on PostgreSQL: two instances racing, a lapsed lease taken over, and a
// fenced transaction that the new owner's takeover waits for.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { postgresUnavailable } from '../../test/support/postgres.js';
import { sharedCluster } from '../../test/support/store-backends.js';
import { PostgresStore } from './postgres.js';
import { checkFence, LeaseLostError } from './postgres-leases.js';

const skip = postgresUnavailable();

describe('mailbox leases', { skip }, () => {
  const stores: PostgresStore[] = [];
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await (await sharedCluster()).stop();
  });

  /** Two instances (separate pools) on one fresh database. */
  async function two(): Promise<[PostgresStore, PostgresStore]> {
    const url = await (await sharedCluster()).createDatabase('lease');
    const a = new PostgresStore(url);
    const b = new PostgresStore(url);
    stores.push(a, b);
    await a.migrate();
    await b.migrate();
    return [a, b];
  }

  test('two instances racing for the same mailboxes: exactly one gets each', async () => {
    const [a, b] = await two();
    for (let i = 0; i < 20; i++) {
      const [la, lb] = await Promise.all([
        a.leases.acquire(`m${i}`, 'A', 60_000),
        b.leases.acquire(`m${i}`, 'B', 60_000),
      ]);
      assert.equal([la, lb].filter(Boolean).length, 1, `one owner of m${i}`);
      assert.equal((la ?? lb)?.token, 1);
    }
    // The holder acquiring again is a renewal: same token.
    const mine = (await a.leases.acquire('x', 'A', 60_000))!;
    assert.equal((await a.leases.acquire('x', 'A', 60_000))?.token, mine.token);
  });

  test('a lapsed lease is taken over with a larger token; the old owner can neither renew nor write', async () => {
    const [a, b] = await two();
    const old = (await a.leases.acquire('info', 'A', 150))!;
    assert.equal(await b.leases.acquire('info', 'B', 60_000), undefined, 'held');
    await sleep(300);
    const taken = (await b.leases.acquire('info', 'B', 60_000))!;
    assert.ok(taken.token > old.token, 'the token grows with the new owner');
    assert.equal(await a.leases.renew('info', 'A', old.token, 60_000), undefined);
    assert.equal(await a.leases.release('info', 'A', old.token), false);
    await assert.rejects(
      a.tx((c) => checkFence(c, 'info', old.token)),
      (e: unknown) => e instanceof LeaseLostError && /token 2/.test(e.message),
    );
    await b.tx((c) => checkFence(c, 'info', taken.token));
    // Released, the row keeps its token: the next owner's grows from it.
    assert.equal(await b.leases.release('info', 'B', taken.token), true);
    assert.equal((await a.leases.acquire('info', 'A', 60_000))?.token, taken.token + 1);
  });

  test('a takeover waits for the fenced transaction in progress: no write lands after the new tenure begins', async () => {
    const [a, b] = await two();
    const held = (await a.leases.acquire('info', 'A', 200))!;
    let takenAt = 0;
    let committedAt = 0;
    let takeover: Promise<unknown> | undefined;
    await a.tx(async (c) => {
      await checkFence(c, 'info', held.token);
      await sleep(300); // the lease lapses while this transaction still works
      takeover = b.leases.acquire('info', 'B', 60_000).then((l) => {
        takenAt = Date.now();
        return l;
      });
      await sleep(200);
      assert.equal(takenAt, 0, 'the new owner waits for the fenced transaction');
      committedAt = Date.now();
    });
    const lease = (await takeover) as { token: number } | undefined;
    assert.equal(lease?.token, held.token + 1);
    assert.ok(takenAt >= committedAt);
  });
});
