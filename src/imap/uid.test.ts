import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatImapUid, parseImapUid } from './uid.js';

test('an IMAP uid names folder, UIDVALIDITY and UID, and parses back for any folder name', () => {
  const folders = ['INBOX', 'Archive/2026', 'a;UIDVALIDITY=1;UID=2', 'Ünïcode Ordner', ';', 'x=y; z'];
  for (const folder of folders) {
    const id = { folder, uidValidity: '4294967295', uid: 45 };
    const text = formatImapUid(id);
    assert.deepEqual(parseImapUid(text), id, text);
  }
  assert.equal(
    formatImapUid({ folder: 'INBOX', uidValidity: '123', uid: 45 }),
    'INBOX;UIDVALIDITY=123;UID=45',
  );
});

test('values not in the IMAP form are not taken for one', () => {
  const cases = [
    '0000000100000002', // a POP3 UIDL
    ';UIDVALIDITY=1;UID=2', // no folder
    'INBOX;UIDVALIDITY=1;UID=0', // UID 0 does not exist
    'INBOX;UIDVALIDITY=;UID=2',
    'INBOX;UIDVALIDITY=1;UID=2 ',
    'INBOX;UIDVALIDITY=12345678901;UID=2', // more than 32 bits of digits
  ];
  for (const value of cases) assert.equal(parseImapUid(value), undefined, value);
});
