// Group commit in the SQLite store: a new record commits with the rest of its event-loop turn, an
// outcome (recordAttempt) resolves only once committed, and every other write commits the batch first.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { newMessage } from '../../test/support/store-backends.js';
import { SqliteStore } from './sqlite.js';
import type { AttemptUpdate, NewMessage } from './types.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** A store and a second connection on the same file: what a crash right now would leave. */
async function storeAndWitness(): Promise<{
  store: SqliteStore;
  committed: (uid: string) => string | undefined;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'postbote-batch-'));
  dirs.push(dir);
  const file = join(dir, 's.sqlite');
  const store = new SqliteStore(file);
  await store.migrate();
  const witness = new Database(file, { readonly: true });
  after(() => witness.close());
  const committed = (uid: string) =>
    (witness.prepare('SELECT state FROM messages WHERE uid = ?').get(uid) as { state: string } | undefined)
      ?.state;
  return { store, committed };
}

const msg = (uid: string): NewMessage => newMessage(uid, { fingerprint: `fp-${uid}` });

const delivered: AttemptUpdate = {
  state: 'delivered',
  recipients: [{ address: 'r@corp.local', status: 'delivered', reason: 'fixed' }],
  nextAttemptAt: null,
  reason: null,
  spoolKey: null,
  countsAsAttempt: true,
};
const log = { at: 2000, outcome: 'delivered', detail: '250 ok', recipients: [] };

describe('SqliteStore group commit', () => {
  test('a new record commits with the rest of its turn of the event loop, before any reply can be read', async () => {
    const { store, committed } = await storeAndWitness();
    const rec = await store.addSpooled(msg('u1'));
    assert.equal(committed('u1'), undefined, 'not yet: it shares the commit of the turn');
    assert.equal((await store.get(rec.id))?.state, 'spooled', 'the store itself sees it at once');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(committed('u1'), 'spooled');
    await store.close();
  });

  test('an outcome has committed when recordAttempt resolves, and with it the record it updates', async () => {
    const { store, committed } = await storeAndWitness();
    const rec = await store.addSpooled(msg('u1'));
    await store.recordAttempt(rec.id, delivered, log);
    assert.equal(committed('u1'), 'delivered');
    await store.close();
  });

  test('the outcomes of several passes in one turn share a commit and each resolves after it', async () => {
    const { store, committed } = await storeAndWitness();
    const uids = Array.from({ length: 5 }, (_, i) => `u${i}`);
    await Promise.all(
      uids.map(async (uid) => {
        const rec = await store.addSpooled(msg(uid));
        await store.recordAttempt(rec.id, delivered, log);
        assert.equal(committed(uid), 'delivered');
      }),
    );
    await store.close();
  });

  test('a refused update rolls back only itself', async () => {
    const { store, committed } = await storeAndWitness();
    const a = await store.addSpooled(msg('a'));
    const b = await store.addSpooled(msg('b'));
    const wrong = store.recordAttempt(a.id, { ...delivered, expect: 'deferred' }, log);
    const right = store.recordAttempt(b.id, delivered, log);
    await assert.rejects(wrong, /deferred/);
    await right;
    assert.equal(committed('a'), 'spooled');
    assert.equal(committed('b'), 'delivered');
    await store.close();
  });

  test('every other write, sync() and close() commit the batch at once', async () => {
    const { store, committed } = await storeAndWitness();
    const rec = await store.addSpooled(msg('u1'));
    await store.markSourceRemoved([rec.id], 3000);
    assert.equal(committed('u1'), 'spooled');
    await store.addSpooled(msg('u2'));
    await store.sync();
    assert.equal(committed('u2'), 'spooled');
    await store.addSpooled(msg('u3'));
    await store.close();
    assert.equal(committed('u3'), 'spooled');
  });
});
