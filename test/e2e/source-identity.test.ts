// A provider that lies about message identity: uids reused after a deletion, one uid listed twice,
// uids that differ only after a space, malformed listing lines, a message whose RETR always fails, a
// DELE refused. None of it may cost a message; each case checks the target, the provider and the report.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_READ_FAILURES } from '../../src/connector/read-failure.js';
import { left, mail, world } from './fault-world.js';

const PLAIN = 'deliverTo: [info@corp.local]';
const subjects = (w: Awaited<ReturnType<typeof world>>) =>
  w.receiver.received.map((r) => /Subject: (.*)\r\n/.exec(r.raw.toString())?.[1]).sort();

describe('reused uids', () => {
  test('a new message under the uid of a deleted one is fetched and delivered (different size)', async () => {
    const w = await world([], PLAIN);
    const drop = w.pop3.maildrop('info@example.com');
    drop.add(mail(1), 'X');
    assert.equal((await w.fetch()).delivered, 1);
    assert.equal(left(w), 0);
    drop.add(Buffer.concat([mail(2), Buffer.from('a longer body\r\n')]), 'X');
    const second = await w.fetch();
    assert.equal(second.ok, true, second.error?.describe());
    assert.equal(second.delivered, 1, 'the new message was taken for the old one');
    assert.deepEqual(subjects(w), ['message 1', 'message 2']);
    assert.equal(left(w), 0);
  });

  test('same size, other headers: told apart by the header digest (TOP n 0)', async () => {
    const w = await world([], PLAIN);
    const drop = w.pop3.maildrop('info@example.com');
    drop.add(mail(1), 'X');
    await w.fetch();
    assert.equal(mail(1).length, mail(2).length);
    drop.add(mail(2), 'X');
    const second = await w.fetch();
    assert.equal(second.delivered, 1);
    assert.deepEqual(subjects(w), ['message 1', 'message 2']);
    assert.ok(w.commands.includes('TOP'), 'checked with TOP');
  });

  test('a server that says it deleted but did not: the same message is removed again, never delivered twice', async () => {
    const w = await world([mail(1)], PLAIN);
    // DELE answered +OK but never applied: QUIT commits nothing.
    w.pop3Hooks.onCommand = (c) => (c.command === 'DELE' ? { reply: '+OK marked (not really)' } : undefined);
    assert.equal((await w.fetch()).delivered, 1);
    assert.equal(left(w), 1);
    w.pop3Hooks.onCommand = undefined;
    const second = await w.fetch();
    assert.equal(second.ok, true, second.error?.describe());
    assert.equal(second.delivered, 0);
    assert.equal(second.removed, 1);
    assert.equal(w.receiver.received.length, 1);
    assert.equal(left(w), 0);
  });

  test('keep mode: a uid the user deleted and the server gave to new mail is delivered', async () => {
    const w = await world([], `${PLAIN}\n    keep: true`);
    const drop = w.pop3.maildrop('info@example.com');
    drop.add(mail(1), 'X');
    await w.fetch();
    drop.commitDeletes(new Set(['X']));
    await w.fetch(); // the uid is no longer listed: it stops standing for the delivered record
    drop.add(mail(2), 'X');
    const third = await w.fetch();
    assert.equal(third.delivered, 1);
    assert.deepEqual(subjects(w), ['message 1', 'message 2']);
    assert.equal(left(w), 1, 'kept');
  });
});

describe('uids listed twice or malformed', () => {
  test('two messages with one uid: both delivered once, both removed, nothing on the next pass', async () => {
    const w = await world([], PLAIN);
    const drop = w.pop3.maildrop('info@example.com');
    drop.add(mail(1), 'dup');
    drop.add(mail(2), 'dup');
    const first = await w.fetch();
    assert.equal(first.ok, true, first.error?.describe());
    assert.equal(first.delivered, 2);
    assert.deepEqual(subjects(w), ['message 1', 'message 2']);
    assert.equal(left(w), 0);
  });

  test('one uid twice, the session dies before QUIT: the next pass removes both without delivering again', async () => {
    const w = await world([], PLAIN);
    const drop = w.pop3.maildrop('info@example.com');
    drop.add(mail(1), 'dup');
    drop.add(mail(2), 'dup');
    w.pop3Hooks.onCommand = (c) => (c.command === 'QUIT' ? 'drop' : undefined);
    await w.fetch();
    assert.equal(left(w), 2);
    w.pop3Hooks.onCommand = undefined;
    const second = await w.fetch();
    assert.equal(second.delivered, 0);
    assert.equal(second.removed, 2);
    assert.equal(w.receiver.received.length, 2);
    assert.equal(left(w), 0);
  });

  test('one uid twice and only one of them delivered before: the other is delivered, not deleted unseen', async () => {
    const w = await world([], PLAIN);
    const drop = w.pop3.maildrop('info@example.com');
    drop.add(mail(1), 'dup');
    w.pop3Hooks.onCommand = (c) => (c.command === 'QUIT' ? 'drop' : undefined);
    await w.fetch(); // delivered, but the deletion was never committed
    w.pop3Hooks.onCommand = undefined;
    drop.add(mail(2), 'dup');
    const second = await w.fetch();
    assert.equal(second.delivered, 1);
    assert.deepEqual(subjects(w), ['message 1', 'message 2']);
    assert.equal(left(w), 0);
  });

  test('uids that differ only after a space are two messages', async () => {
    const w = await world([], PLAIN);
    const drop = w.pop3.maildrop('info@example.com');
    drop.add(mail(1), 'a b');
    drop.add(mail(2), 'a c');
    const first = await w.fetch();
    assert.equal(first.delivered, 2);
    assert.equal(left(w), 0);
  });

  test('a malformed UIDL line leaves that message alone, names the line, and the rest goes through', async () => {
    const w = await world([mail(1), mail(2)], PLAIN);
    w.pop3Hooks.onCommand = (c) =>
      c.command === 'UIDL' && !c.args ? { reply: '+OK\r\n1 good-uid\r\n2 \x01bad\r\n.' } : undefined;
    const first = await w.fetch();
    assert.equal(first.ok, false);
    assert.equal(first.error?.code, 'SOURCE_LISTING');
    assert.match(first.error!.describe(), /control character.*2 \\u0001bad/);
    assert.equal(first.delivered, 1);
    assert.equal(left(w), 1, 'the message behind the bad line stays at the provider');
    assert.equal(w.pop3.mailbox('info@example.com')[0]!.toString(), mail(2).toString());
  });
});

describe('messages that cannot be read', () => {
  test('a RETR refused every time costs only that message; after the limit it is quarantined unread and the postmaster told', async () => {
    const w = await world([mail(1), mail(2), mail(3)], PLAIN, 'none', ', postmaster: pm@corp.local');
    w.pop3Hooks.onCommand = (c) =>
      c.command === 'RETR' && c.args === '2' ? { reply: '-ERR cannot read' } : undefined;
    const first = await w.fetch();
    assert.equal(first.ok, false);
    assert.match(first.error!.describe(), /cannot read/);
    assert.equal(first.delivered, 2, 'the messages after it were fetched');
    assert.equal(first.removed, 2, 'and removed: the refusal did not stop the clean-up');
    assert.equal(left(w), 1);
    w.pop3Hooks.onCommand = (c) => (c.command === 'RETR' ? { reply: '-ERR cannot read' } : undefined);
    for (let pass = 2; pass <= MAX_READ_FAILURES; pass++) await w.fetch();
    const notices = w.receiver.byRecipient('pm@corp.local');
    assert.equal(notices.length, 1);
    assert.match(notices[0]!.toString(), /unreadable: reading it failed in 3 passes/);
    assert.equal(left(w), 1, 'never deleted: the provider has the only copy');
    const later = await w.fetch();
    assert.equal(later.ok, true, 'recorded, no longer an error of every pass');
    assert.equal(w.receiver.byRecipient('pm@corp.local').length, 1, 'told once');
    assert.equal(left(w), 1);
  });

  test('a RETR that never answers breaks the session: it is reopened, the rest fetched and removed', async () => {
    const w = await world([mail(1), mail(2), mail(3)], PLAIN);
    w.pop3Hooks.onCommand = (c) => (c.command === 'RETR' && c.args === '2' ? 'stall' : undefined);
    const first = await w.fetch();
    assert.equal(first.ok, false);
    assert.equal(first.error?.code, 'TIMEOUT');
    assert.equal(first.delivered, 2);
    assert.equal(first.removed, 2);
    assert.deepEqual(subjects(w), ['message 1', 'message 3']);
    assert.equal(left(w), 1);
  });

  test('a last line without CRLF before the dot: nothing mixed up is delivered, the pipeline is given up, the message recorded unreadable', async () => {
    const w = await world([mail(1), mail(2), mail(3)], PLAIN, 'none', ', postmaster: pm@corp.local');
    // RETR 2 answered with the message's last line glued to the terminating dot ("body 2.\r\n").
    const bad = mail(2)
      .toString('latin1')
      .replace(/\r\n\./g, '\r\n..')
      .replace(/\r\n$/, '');
    const isMessage2 = (n: string) =>
      w.pop3.maildrop('info@example.com').current()[Number(n) - 1]?.data.equals(mail(2)) === true;
    w.pop3Hooks.onCommand = (c) =>
      c.command === 'RETR' && isMessage2(c.args)
        ? { reply: `+OK ${mail(2).length} octets\r\n${bad}.` }
        : undefined;
    const first = await w.fetch();
    assert.equal(first.error?.code, 'POP3_DESYNC', first.error?.describe());
    assert.deepEqual(subjects(w), ['message 1', 'message 3'], 'messages 1 and 3 whole, nothing mixed up');
    for (const r of w.receiver.received) assert.doesNotMatch(r.raw.toString(), /\+OK|body 2/);
    assert.equal(left(w), 1);
    // The next pass reads one command at a time: the message never ends, and is recorded as unreadable.
    const second = await w.fetch();
    assert.equal(second.quarantined, 1, second.error?.describe());
    assert.match(w.receiver.byRecipient('pm@corp.local')[0]?.toString() ?? '', /unreadable/);
    assert.equal(left(w), 1, 'the provider keeps the only copy');
    const third = await w.fetch();
    assert.equal(third.ok, true, third.error?.describe());
    assert.equal(w.receiver.received.length, 3, 'two messages and one notice, nothing twice');
  });

  test('one DELE refused: the other deletions are still committed, the refused one removed next time', async () => {
    const w = await world([mail(1), mail(2), mail(3)], PLAIN);
    w.pop3Hooks.onCommand = (c) =>
      c.command === 'DELE' && c.args === '2' ? { reply: '-ERR busy' } : undefined;
    const first = await w.fetch();
    assert.equal(first.ok, false);
    assert.equal(first.removed, 2);
    assert.match(first.error!.describe(), /busy/);
    assert.equal(left(w), 1);
    w.pop3Hooks.onCommand = undefined;
    const second = await w.fetch();
    assert.equal(second.ok, true);
    assert.equal(second.delivered, 0);
    assert.equal(second.removed, 1);
    assert.equal(w.receiver.received.length, 3);
    assert.equal(left(w), 0);
  });
});
