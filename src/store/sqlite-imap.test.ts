// IMAP (SQLite migration 4, PostgreSQL 3): the internal date is kept with a record, and records take
// a new uid when their folder got a new UIDVALIDITY, in one transaction, surviving a reopen.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backends } from '../../test/support/store-backends.js';

for (const backend of backends())
  describe(backend.name, { skip: backend.skip }, () => {
    test('keeps the IMAP internal date and reassigns uids durably', async () => {
      const location = await backend.location();
      let store = location.open();
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
      store = location.open();
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
  });
