import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SqliteStore } from './sqlite.js';
import type { NewMessage } from './types.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

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

test('records survive a reopen, attempts are logged, and migrations run once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'postbote-store-'));
  dirs.push(dir);
  const file = join(dir, 's.sqlite');
  let store = new SqliteStore(file);
  await store.migrate();
  const rec = await store.addSpooled(msg('u1'));
  await store.addSpooled(msg('u2'));
  await assert.rejects(store.addSpooled(msg('u1')), /UNIQUE/);
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

  store = new SqliteStore(file);
  await store.migrate();
  const all = await store.messagesOf('info');
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
  await store.forget([rec.id, all.get('u2')!.id]); // only delivered ones may be forgotten
  assert.deepEqual([...(await store.messagesOf('info')).keys()], ['u2']);
  assert.deepEqual(await store.counts(), {
    spooled: 1,
    deferred: 0,
    delivered: 0,
    quarantined: 0,
    deleted: 0,
    duplicate: 0,
  });
  await store.close();
});
