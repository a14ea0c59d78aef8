import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { backends } from '../../test/support/store-backends.js';
import { DuplicateRaceError } from './lifecycle.js';
import { SqliteStore } from './sqlite.js';
import { MIGRATIONS } from './sqlite-migrations.js';
import type { NewMessage } from './types.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'postbote-dup-'));
  dirs.push(dir);
  return join(dir, 's.sqlite');
}

const msg = (uid: string, to: string[], at: number, fingerprint = 'mid:<a@x>'): NewMessage => ({
  mailbox: 'catchall',
  uid,
  spoolKey: `k-${uid}`,
  size: 10,
  sha256: 'x',
  messageId: '<a@x>',
  sender: 'a@b.c',
  subject: 's',
  recipients: to.map((address) => ({ address, status: 'pending', reason: 'Delivered-To' })),
  fetchedAt: at,
  fingerprint,
  explanation: ['bob@corp.local: Delivered-To: bob@example.com'],
});

for (const b of backends())
  describe(b.name, { skip: b.skip }, () => {
    test('a copy is seen for its recipients within the window, not outside it or for others', async () => {
      const store = await b.fresh();
      await store.addSpooled(msg('u1', ['bob@corp.local', 'Ann@corp.local'], 1000));
      const seen = await store.seenCopies(
        'mid:<a@x>',
        ['bob@corp.local', 'ann@corp.local', 'eve@corp.local'],
        500,
      );
      assert.deepEqual([...seen.keys()], ['bob@corp.local', 'ann@corp.local']);
      assert.equal(seen.get('bob@corp.local')?.uid, 'u1');
      assert.equal(
        (await store.seenCopies('mid:<a@x>', ['bob@corp.local'], 1001)).size,
        0,
        'outside the window',
      );
      assert.equal((await store.seenCopies('mid:<b@x>', ['bob@corp.local'], 0)).size, 0, 'other message');
      await store.close();
    });

    test('the explanation is stored with the record; non-pending recipients are not remembered', async () => {
      const store = await b.fresh();
      const m = msg('u1', ['bob@corp.local'], 1000);
      m.recipients.push({ address: 'dup@corp.local', status: 'duplicate', reason: 'already had it' });
      const rec = await store.addSpooled(m);
      assert.deepEqual(rec.explanation, ['bob@corp.local: Delivered-To: bob@example.com']);
      assert.equal((await store.seenCopies('mid:<a@x>', ['dup@corp.local'], 0)).size, 0);
      await store.close();
    });

    test('a discarded record (lost spool file) is not a duplicate of itself when fetched again', async () => {
      const store = await b.fresh();
      const rec = await store.addSpooled(msg('u1', ['bob@corp.local'], 1000));
      await store.discard(rec.id);
      assert.equal((await store.seenCopies('mid:<a@x>', ['bob@corp.local'], 0)).size, 0);
      await store.close();
    });

    test('two writers that both checked before either recorded: the second record is refused, nothing written', async () => {
      // Two instances on one state, each routing a copy of the same message at the same moment.
      const place = await b.location();
      const first = place.open();
      await first.migrate();
      const second = place.open();
      for (const s of [first, second])
        assert.equal((await s.seenCopies('mid:<a@x>', ['bob@corp.local'], 500)).size, 0);
      await first.addSpooled({ ...msg('u1', ['bob@corp.local'], 1000), duplicateSince: 500 });
      const copy = {
        ...msg('u2', ['eve@corp.local', 'Bob@corp.local'], 1001),
        mailbox: 'sales',
        duplicateSince: 501,
      };
      await assert.rejects(second.addSpooled(copy), (err: unknown) => {
        assert.ok(err instanceof DuplicateRaceError, String(err));
        assert.deepEqual(err.recipients, ['bob@corp.local']);
        return true;
      });
      assert.deepEqual((await second.messagesOf('sales')).length, 0, 'nothing of the refused record');
      // Outside the window, or without a window, the same copy is recorded.
      await second.addSpooled({ ...copy, duplicateSince: 1001 });
      await second.addSpooled({ ...copy, uid: 'u3', duplicateSince: undefined });
      assert.equal((await second.messagesOf('sales')).length, 2);
      await first.close();
      await second.close();
    });
  });

test('a version 1 store is upgraded in place: old records and their attempts kept, duplicate state counted', async () => {
  const file = await tempFile();
  const db = new Database(file);
  db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER)');
  db.exec(MIGRATIONS[0]!.sql);
  db.prepare('INSERT INTO schema_migrations VALUES (1, 0)').run();
  db.prepare(
    `INSERT INTO messages (mailbox, uid, state, size, sha256, sender, recipients, fetched_at, updated_at)
     VALUES ('info', 'old', 'delivered', 1, '', '', '[]', 1, 1)`,
  ).run();
  db.prepare(
    `INSERT INTO attempts (message, at, outcome, detail, recipients) VALUES (1, 1, 'delivered', 'ok', '[]')`,
  ).run();
  db.close();
  const store = new SqliteStore(file);
  await store.migrate();
  const old = (await store.messagesOf('info')).find((r) => r.uid === 'old');
  assert.equal(old?.state, 'delivered');
  assert.deepEqual(old?.explanation, []);
  // Version 3 rebuilds the messages table: the attempts that refer to it must survive.
  assert.equal((await store.attemptsOf(old!.id)).length, 1);
  assert.equal(old?.sourceSize, null, 'an old record has no fingerprint: matched by uid alone');
  const rec = await store.addSpooled(msg('u2', ['bob@corp.local'], 5));
  await store.recordAttempt(
    rec.id,
    {
      state: 'duplicate',
      recipients: [],
      nextAttemptAt: null,
      reason: 'dup',
      spoolKey: null,
      countsAsAttempt: false,
    },
    { at: 6, outcome: 'duplicate', detail: 'dup', recipients: [] },
  );
  assert.equal((await store.counts()).duplicate, 1);
  await store.close();
});
