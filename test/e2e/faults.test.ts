// Fault cases real servers will not produce on demand: a scriptable POP3 server as the provider and a
// scriptable smtp-server receiver as the company server. Each case checks what reached the target,
// what stayed at the provider, and what the user is told.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { left, mail, world } from './fault-world.js';

describe('provider faults', () => {
  test('a connection dropped mid-RETR delivers nothing and loses nothing; the next pass delivers once', async () => {
    const w = await world([mail(1), mail(2)], 'deliverTo: [info@corp.local]');
    w.pop3Hooks.retrCutAfter = 20;
    const first = await w.fetch();
    assert.equal(first.ok, false);
    assert.equal(first.error?.temporary, true);
    assert.equal(w.receiver.received.length, 0);
    assert.equal(left(w), 2);
    w.pop3Hooks.retrCutAfter = undefined;
    const second = await w.fetch();
    assert.equal(second.ok, true, second.error?.describe());
    assert.equal(w.receiver.received.length, 2);
    assert.equal(left(w), 0);
  });

  test('-ERR [IN-USE] is a temporary failure with the server’s words', async () => {
    const w = await world([mail(1)], 'deliverTo: [info@corp.local]');
    w.pop3Hooks.onCommand = (c) =>
      c.command === 'PASS' ? { reply: '-ERR [IN-USE] mailbox locked' } : undefined;
    const s = await w.fetch('auth: user');
    assert.equal(s.error?.code, 'POP3_IN_USE');
    assert.equal(s.error?.temporary, true);
    assert.match(s.error!.describe(), /mailbox locked/);
    assert.equal(left(w), 1);
  });

  test('-ERR on DELE keeps the message at the provider, and the next pass removes it without delivering again', async () => {
    const w = await world([mail(1)], 'deliverTo: [info@corp.local]');
    w.pop3Hooks.onCommand = (c) => (c.command === 'DELE' ? { reply: '-ERR cannot delete' } : undefined);
    const first = await w.fetch();
    assert.equal(first.ok, false);
    assert.equal(w.receiver.received.length, 1);
    assert.equal(left(w), 1);
    w.pop3Hooks.onCommand = undefined;
    const second = await w.fetch();
    assert.equal(second.ok, true);
    assert.equal(second.removed, 1);
    assert.equal(w.receiver.received.length, 1, 'not delivered twice');
    assert.equal(left(w), 0);
  });

  test('a stalled server times out and leaves everything in place', async () => {
    const w = await world([mail(1)], 'deliverTo: [info@corp.local]');
    w.pop3Hooks.onCommand = (c) => (c.command === 'UIDL' ? 'stall' : undefined);
    const started = Date.now();
    const s = await w.fetch();
    assert.equal(s.error?.code, 'TIMEOUT');
    assert.ok(Date.now() - started < 10_000);
    assert.equal(left(w), 1);
  });

  test('STLS required but not offered: no password is sent', async () => {
    const w = await world([mail(1)], 'deliverTo: [info@corp.local]', 'starttls');
    const s = await w.fetch();
    assert.equal(s.error?.code, 'TLS_REQUIRED');
    for (const secret of ['USER', 'PASS', 'AUTH', 'APOP']) assert.ok(!w.commands.includes(secret), secret);
    assert.equal(left(w), 1);
  });
});

describe('keep mode', () => {
  test('leaves mail on the server, never fetches it twice, and forgets it once the server drops it', async () => {
    const w = await world([mail(1), mail(2)], 'deliverTo: [info@corp.local]\n    keep: true');
    const first = await w.fetch();
    assert.equal(first.delivered, 2);
    assert.equal(first.removed, 0);
    assert.equal(left(w), 2);
    const second = await w.fetch();
    assert.deepEqual([second.fetched, second.delivered, second.removed], [0, 0, 0]);
    assert.equal(w.receiver.received.length, 2);
    // The user deletes one message at the provider (webmail): its uid is forgotten, the other kept.
    const drop = w.pop3.maildrop('info@example.com');
    drop.commitDeletes(new Set([drop.current()[0]!.uid]));
    const third = await w.fetch();
    assert.deepEqual([third.listed, third.fetched, third.delivered], [1, 0, 0]);
    assert.equal(w.receiver.received.length, 2);
  });
});

describe('target faults', () => {
  test('451 then 250: kept at the provider, delivered once after the retry', async () => {
    const w = await world([mail(1)], 'deliverTo: [info@corp.local]');
    w.rcvHooks.onData = () => ({ code: 451, message: '4.3.0 try again later' });
    const first = await w.fetch();
    assert.equal(first.deferred, 1);
    assert.equal(first.pending, 1);
    assert.equal(left(w), 1);
    assert.equal(w.receiver.received.length, 0);
    w.rcvHooks.onData = undefined;
    const second = await w.fetch();
    assert.equal(second.delivered, 1);
    assert.equal(second.fetched, 0, 'delivered from the spool, not fetched again');
    assert.equal(w.receiver.received.length, 1);
    assert.equal(left(w), 0);
  });

  test('550 for one recipient: the fallback gets it, the other recipient gets it once', async () => {
    const w = await world(
      [mail(1)],
      'deliverTo: [good@corp.local, gone@corp.local]\n    fallback: postmaster@corp.local',
    );
    w.rcvHooks.onRcpt = (a) =>
      a === 'gone@corp.local' ? { code: 550, message: '5.1.1 user unknown' } : undefined;
    const s = await w.fetch();
    assert.equal(s.ok, true, s.error?.describe());
    assert.equal(s.delivered, 1);
    assert.equal(w.receiver.byRecipient('good@corp.local').length, 1);
    assert.equal(w.receiver.byRecipient('postmaster@corp.local').length, 1);
    assert.equal(w.receiver.byRecipient('gone@corp.local').length, 0);
    assert.equal(left(w), 0);
  });

  test('550 without a fallback: quarantined, kept in the spool, the postmaster told in the server’s words', async () => {
    const w = await world([mail(1)], 'deliverTo: [gone@corp.local]', 'none', ', postmaster: pm@corp.local');
    w.rcvHooks.onRcpt = (a) =>
      a === 'gone@corp.local' ? { code: 550, message: '5.1.1 user unknown' } : undefined;
    const s = await w.fetch();
    assert.equal(s.quarantined, 1);
    assert.equal(s.ok, true);
    assert.equal(left(w), 0, 'quarantined durably, so removed at the provider');
    const notices = w.receiver.byRecipient('pm@corp.local');
    assert.equal(notices.length, 1);
    assert.match(
      notices[0]!.toString(),
      /quarantined[\s\S]*gone@corp\.local: refused \(550 5\.1\.1 user unknown\)/,
    );
    const again = await w.fetch();
    assert.equal(again.delivered + again.quarantined, 0);
    assert.equal(w.receiver.byRecipient('pm@corp.local').length, 1, 'told once');
  });

  test('the target down for a while, then up: kept, then delivered once', async () => {
    const w = await world([mail(1), mail(2)], 'deliverTo: [info@corp.local]');
    await w.receiver.stop();
    const first = await w.fetch();
    assert.equal(first.ok, false);
    assert.equal(left(w), 2);
    await w.receiver.start();
    const second = await w.fetch();
    assert.equal(second.ok, true, second.error?.describe());
    assert.equal(w.receiver.received.length, 2);
    assert.equal(left(w), 0);
  });

  test('a target refusing Postbote itself quarantines nothing and resumes by itself', async () => {
    const w = await world([mail(1)], 'deliverTo: [info@corp.local]');
    w.rcvHooks.onRcpt = () => ({ code: 550, message: '5.7.1 Client host rejected: Access denied' });
    const first = await w.fetch();
    assert.equal(first.ok, false);
    assert.equal(first.error?.code, 'SMTP_REFUSED_CLIENT');
    assert.match(first.error?.hint ?? '', /RemoteIPRanges/);
    assert.equal(first.quarantined, 0);
    assert.equal(left(w), 1);
    w.rcvHooks.onRcpt = undefined;
    const second = await w.fetch();
    assert.equal(second.ok, true);
    assert.equal(w.receiver.received.length, 1);
    assert.equal(left(w), 0);
  });
});
