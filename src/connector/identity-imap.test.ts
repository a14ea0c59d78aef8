import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SourceMessage } from '../source/types.js';
import type { MessageRecord } from '../store/types.js';
import { identify, rebaseImapUids } from './identity.js';

const uid = (folder: string, v: number, u: number) => `${folder};UIDVALIDITY=${v};UID=${u}`;
let nextId = 1;
const rec = (
  u: string,
  messageId: string | null,
  size: number,
  sourceDate: number | null = 1000,
): MessageRecord => ({
  id: nextId++,
  mailbox: 'm',
  uid: u,
  state: 'delivered',
  spoolKey: null,
  size,
  sha256: '',
  messageId,
  sender: '',
  subject: null,
  recipients: [],
  attempts: 1,
  nextAttemptAt: null,
  reason: null,
  fetchedAt: 0,
  updatedAt: 0,
  sourceRemovedAt: null,
  sourceSize: size,
  sourceDate,
});
const msg = (
  num: number,
  u: string,
  messageId: string | undefined,
  size: number,
  internalDate = 1000,
): SourceMessage => ({
  uid: u,
  num,
  size,
  messageId,
  internalDate,
});

test('records of a folder with a new UIDVALIDITY are recognised by Message-ID, size and date', () => {
  const records = [
    rec(uid('INBOX', 1, 1), 'a@x', 100),
    rec(uid('INBOX', 1, 2), 'b@x', 200),
    rec(uid('INBOX', 1, 3), 'c@x', 300), // size changed: not the same
    rec(uid('INBOX', 1, 4), 'd@x', 400, 5000), // other date: not the same
    rec(uid('INBOX', 1, 5), null, 500), // no Message-ID: cannot be recognised
    rec(uid('Lists', 7, 1), 'a@x', 100), // Lists kept its UIDVALIDITY: untouched
    rec('0000000100000002', 'b@x', 200), // a POP3 uid: untouched
  ];
  const listing = {
    refused: [],
    messages: [
      msg(1, uid('INBOX', 2, 10), 'b@x', 200),
      msg(2, uid('INBOX', 2, 11), 'a@x', 100),
      msg(3, uid('INBOX', 2, 12), 'c@x', 301),
      msg(4, uid('INBOX', 2, 13), 'd@x', 400, 6000),
      msg(5, uid('INBOX', 2, 14), undefined, 500),
      msg(6, uid('INBOX', 2, 15), 'a@x', 100), // a second copy: each record matches once
      msg(7, uid('Lists', 7, 1), 'a@x', 100),
    ],
  };
  const out = rebaseImapUids(listing, records);
  assert.deepEqual(
    out.renamed.map((r) => [r.record.messageId, r.uid]),
    [
      ['a@x', uid('INBOX', 2, 11)],
      ['b@x', uid('INBOX', 2, 10)],
    ],
  );
  assert.equal(out.notes.length, 1);
  assert.match(
    out.notes[0]!,
    /folder INBOX: UIDVALIDITY changed from 1 to 2 .* 2 known messages recognised .* 4 listed messages treated as new/,
  );
});

test('nothing to do when every folder kept its UIDVALIDITY, or for POP3 listings', () => {
  const records = [rec(uid('INBOX', 1, 1), 'a@x', 100)];
  assert.deepEqual(
    rebaseImapUids({ refused: [], messages: [msg(1, uid('INBOX', 1, 1), 'a@x', 100)] }, records),
    {
      renamed: [],
      notes: [],
    },
  );
  assert.deepEqual(rebaseImapUids({ refused: [], messages: [msg(1, 'UIDL1', 'a@x', 100)] }, records), {
    renamed: [],
    notes: [],
  });
});

test('IMAP UIDs are never reused within a UIDVALIDITY: a known uid after new mail needs no header check', async () => {
  const known = rec(uid('Lists', 7, 1), 'a@x', 100);
  const listing = {
    refused: [],
    messages: [msg(1, uid('INBOX', 2, 50), 'new@x', 10), msg(2, uid('Lists', 7, 1), 'a@x', 100)],
  };
  let asked = 0;
  const ids = await identify(listing, [known], async () => {
    asked++;
    return 'digest';
  });
  assert.equal(asked, 0, 'no BODY.PEEK[HEADER] round trip per known message');
  assert.deepEqual(
    ids.matched.map((m) => m.record.id),
    [known.id],
  );
  assert.deepEqual(
    ids.fresh.map((m) => m.uid),
    [uid('INBOX', 2, 50)],
  );
});
