// The PostgreSQL lease provider on a real database: each instance takes the mailboxes it ranks first
// for, a mailbox handed over when an instance leaves is announced at once, and a joining instance gets
// its share from the others (released once their pass in hand is over).
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { postgresUnavailable } from '../../test/support/postgres.js';
import { sharedCluster } from '../../test/support/store-backends.js';
import { silentLogger } from '../log.js';
import { PostgresStore } from '../store/postgres.js';
import { ClusterLeases } from './cluster-leases.js';
import { ownerOf } from './rendezvous.js';

const skip = postgresUnavailable();
const TTL = 3_000; // the shortest allowed: renewals and heartbeats every second
const MAILBOXES = Array.from({ length: 12 }, (_, i) => `m${i}`);

describe('leases shared by instances on one database', { skip }, () => {
  const open: Array<{ close(): Promise<void> }> = [];
  after(async () => {
    for (const o of open.reverse()) await o.close().catch(() => undefined);
  });

  async function instance(url: string, label: string): Promise<ClusterLeases> {
    const store = new PostgresStore(url);
    await store.migrate();
    const leases = await ClusterLeases.start({
      url,
      store,
      label,
      ttlMs: TTL,
      joins: true,
      logger: silentLogger(),
    });
    open.push(store, leases);
    return leases;
  }
  async function until(ok: () => boolean, ms: number): Promise<void> {
    const t0 = Date.now();
    while (!ok() && Date.now() - t0 < ms) await sleep(20);
  }

  test('each takes what it ranks first for; the mailboxes of one that leaves are announced to the other', async () => {
    const url = await (await sharedCluster()).createDatabase('cluster');
    const a = await instance(url, 'a');
    const b = await instance(url, 'b');
    await until(() => a.liveInstances.length === 2, 2 * TTL); // a saw b at its next heartbeat
    const ids = [a.owner, b.owner];
    for (const m of MAILBOXES) {
      const mine = ownerOf(m, ids) === a.owner ? a : b;
      const other = mine === a ? b : a;
      const got = await mine.mayRun(m, false);
      assert.ok('lease' in got, m);
      await mine.passEnded(m); // kept: still its mailbox
      assert.deepEqual(await other.mayRun(m, false), { heldBy: mine.owner }, 'a scheduled poll of the other');
      assert.deepEqual(await other.mayRun(m, true), { heldBy: mine.owner }, 'a fetch now: held');
    }
    const gained: string[] = [];
    a.onGained((m) => gained.push(m));
    await b.close();
    const bs = MAILBOXES.filter((m) => ownerOf(m, ids) === b.owner);
    assert.ok(bs.length > 0);
    await until(() => gained.length >= bs.length, 2 * TTL);
    assert.deepEqual(gained.sort(), [...bs].sort());
    for (const m of bs) assert.ok('lease' in (await a.mayRun(m, false)), `${m} taken over`);
  });

  test('instances started together see each other before taking a mailbox: a backlog is split from the start', async () => {
    const url = await (await sharedCluster()).createDatabase('cluster');
    const [a, b, c] = await Promise.all([instance(url, 'a'), instance(url, 'b'), instance(url, 'c')]);
    for (const i of [a, b, c]) assert.equal(i.liveInstances.length, 3, `${i.owner} sees all three at once`);
    const ids = [a.owner, b.owner, c.owner];
    const taken = new Map<string, number>();
    for (const m of MAILBOXES) {
      // Every instance asks for every mailbox at once, as their schedulers do at start: only the one
      // ranking first gets it.
      const answers = await Promise.all([a, b, c].map((i) => i.mayRun(m, false)));
      const winners = answers.flatMap((got, n) => ('lease' in got ? [ids[n]!] : []));
      assert.deepEqual(winners, [ownerOf(m, ids)], m);
      taken.set(winners[0]!, (taken.get(winners[0]!) ?? 0) + 1);
    }
    assert.equal(taken.size, 3, 'each instance took some');
  });

  test('a joining instance gets its share: the others release it after the pass in hand', async () => {
    const url = await (await sharedCluster()).createDatabase('cluster');
    const a = await instance(url, 'a');
    for (const m of MAILBOXES) assert.ok('lease' in (await a.mayRun(m, false)));
    const c = await instance(url, 'c');
    const cs = MAILBOXES.filter((m) => ownerOf(m, [a.owner, c.owner]) === c.owner);
    assert.ok(cs.length > 0);
    // Every pass on a ends now but one of c's mailboxes: a lets the idle ones go at its next renewal.
    const [running, ...idle] = cs;
    for (const m of MAILBOXES) if (m !== running) await a.passEnded(m);
    let taken: string[] = [];
    const t0 = Date.now();
    while (taken.length < idle.length && Date.now() - t0 < 3 * TTL) {
      taken = [];
      for (const m of idle) if ('lease' in (await c.mayRun(m, false))) taken.push(m);
      await sleep(100);
    }
    assert.deepEqual(taken.sort(), [...idle].sort());
    assert.deepEqual(await c.mayRun(running!, false), { heldBy: a.owner }, 'the pass in hand keeps it');
    await a.passEnded(running!);
    assert.ok('lease' in (await c.mayRun(running!, false)));
    // a keeps its own.
    for (const m of MAILBOXES.filter((x) => !cs.includes(x)))
      assert.deepEqual(await c.mayRun(m, true), { heldBy: a.owner });
  });
});
