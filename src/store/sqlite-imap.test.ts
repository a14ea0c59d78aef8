// Migration 5 (IMAP): the internal date is kept with a record, and records take a new uid when their
// folder got a new UIDVALIDITY, in one transaction, surviving a reopen.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { SqliteStore } from './sqlite.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

test('keeps the IMAP internal date and reassigns uids durably', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'postbote-store-imap-'));
  dirs.push(dir);
  const file = join(dir, 's.sqlite');
  let store = new SqliteStore(file);
  await store.migrate();
  const base = {
    mailbox: 'info',
    spoolKey: null,
    size: 10,
    sha256: 'x',
    messageId: 'a@x',
    sender: '',
    subject: null,
    recipients: [],
    fetchedAt: 1,
  };
  const a = await store.addSpooled({
    ...base,
    uid: 'INBOX;UIDVALIDITY=1;UID=1',
    sourceDate: 1_700_000_000_000,
  });
  const b = await store.addSpooled({ ...base, uid: '00000001' });
  assert.equal(a.sourceDate, 1_700_000_000_000);
  assert.equal(b.sourceDate, null, 'POP3 records have no internal date');
  await store.reassignUids([{ id: a.id, uid: 'INBOX;UIDVALIDITY=2;UID=7' }]);
  await store.close();
  store = new SqliteStore(file);
  await store.migrate();
  assert.deepEqual(
    (await store.messagesOf('info')).map((r) => [r.id, r.uid]),
    [
      [a.id, 'INBOX;UIDVALIDITY=2;UID=7'],
      [b.id, '00000001'],
    ],
  );
  await store.close();
});
