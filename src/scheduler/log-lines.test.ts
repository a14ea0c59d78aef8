import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PassSummary } from '../connector/mailbox-pass.js';
import { PostboteError } from '../errors.js';
import type { MessageRecord } from '../store/types.js';
import { messageLine, passLine } from './log-lines.js';

const base: MessageRecord = {
  id: 1,
  mailbox: 'info',
  uid: 'uid-17',
  state: 'delivered',
  spoolKey: null,
  size: 2048,
  sha256: 'x',
  messageId: 'm1@example.net',
  sender: 'alice@example.net',
  subject: 'hello',
  recipients: [
    {
      address: 'info@corp.local',
      status: 'delivered',
      reason: 'deliverTo',
      reply: { code: 250, enhanced: '2.0.0', text: 'Ok: queued as 4Xyz' },
    },
  ],
  attempts: 1,
  nextAttemptAt: null,
  reason: null,
  fetchedAt: 0,
  updatedAt: 0,
  sourceRemovedAt: null,
};

const cases: Array<{ name: string; record: Partial<MessageRecord>; outcome: string; msg: RegExp }> = [
  {
    name: 'delivered, with the queue id',
    record: {},
    outcome: 'delivered',
    msg: /^info: message uid-17 <m1@example\.net> from <alice@example\.net> to info@corp\.local: delivered, 250 2\.0\.0 Ok: queued as 4Xyz \(2048 bytes, 35 ms\)$/,
  },
  {
    name: 'deferred, with the reason',
    record: {
      state: 'deferred',
      reason: 'temporary failure: info@corp.local: 451 4.3.0 try later',
      recipients: [
        {
          address: 'info@corp.local',
          status: 'pending',
          reason: '',
          reply: { code: 451, text: '4.3.0 try later' },
        },
      ],
    },
    outcome: 'deferred',
    msg: /: deferred, 451 4\.3\.0 try later; temporary failure: info@corp\.local: 451 4\.3\.0 try later \(/,
  },
  {
    name: 'rerouted to the fallback',
    record: {
      recipients: [
        {
          address: 'gone@corp.local',
          status: 'rerouted',
          reason: '',
          reply: { code: 550, text: 'no such user' },
        },
        {
          address: 'pm@corp.local',
          status: 'delivered',
          reason: 'fallback',
          reply: { code: 250, text: 'Ok' },
        },
      ],
    },
    outcome: 'rerouted',
    msg: /to gone@corp\.local, pm@corp\.local: rerouted, 550 no such user; 250 Ok/,
  },
  {
    name: 'quarantined',
    record: { state: 'quarantined', reason: 'too large for the target: 552 too big', recipients: [] },
    outcome: 'quarantined',
    msg: /to \(nobody\): quarantined, too large for the target: 552 too big/,
  },
  {
    name: 'duplicate',
    record: { state: 'duplicate', reason: 'seen before' },
    outcome: 'duplicate',
    msg: /: duplicate, /,
  },
  {
    name: 'target refused Postbote: waits untouched',
    record: { state: 'spooled', recipients: [] },
    outcome: 'deferred',
    msg: /: deferred \(/,
  },
];

for (const c of cases) {
  test(`message line: ${c.name}`, () => {
    const line = messageLine({ ...base, ...c.record }, 35);
    assert.equal(line.fields.outcome, c.outcome);
    assert.match(line.msg, c.msg);
    assert.equal(line.fields.mailbox, 'info');
    assert.equal(line.fields.uid, 'uid-17');
    assert.equal(line.fields.messageId, 'm1@example.net');
    assert.equal(line.fields.from, 'alice@example.net');
    assert.equal(line.fields.size, 2048);
    assert.equal(line.fields.ms, 35);
  });
}

test('message line: values from outside are cut and their control characters escaped', () => {
  const line = messageLine(
    {
      ...base,
      messageId: `<${'x'.repeat(5000)}@evil>`,
      sender: 'a@b\r\nINFO forged line\u001b[31m',
      recipients: Array.from({ length: 50 }, (_, i) => ({
        address: `u${i}@corp.local`,
        status: 'delivered' as const,
        reason: '',
      })),
    },
    1,
  );
  for (const c of ['\r', '\n', '\u001b']) assert.ok(!line.msg.includes(c), line.msg);
  assert.match(String(line.fields.from), /^a@b\\r\\nINFO forged line\\x1b\[31m$/);
  assert.ok(String(line.fields.messageId).length < 260);
  assert.match(String(line.fields.messageId), /… \(5007 chars\)$/);
  assert.equal((line.fields.to as string[]).length, 21);
  assert.equal((line.fields.to as string[])[20], '… 30 more');
  assert.ok(line.msg.length < 2000);
});

const summary: PassSummary = {
  mailbox: 'info',
  ok: false,
  listed: 5,
  fetched: 4,
  delivered: 2,
  deferred: 1,
  quarantined: 1,
  removed: 3,
  bytes: 0,
  pending: 1,
  startedAt: 1000,
  endedAt: 1250,
  error: new PostboteError('CONNECT_FAILED', 'target said 451', { temporary: true }),
};

test('pass line: says what went wrong beside the good counts', () => {
  const line = passLine(summary);
  assert.equal(
    line.msg,
    'mailbox info: 5 listed, 4 fetched, 2 delivered, 1 deferred, 1 quarantined, 3 removed, 1 waiting for delivery; target said 451',
  );
  assert.equal(line.fields.code, 'CONNECT_FAILED');
  assert.equal(line.fields.ms, 250);
  const clean = passLine({ ...summary, ok: true, deferred: 0, quarantined: 0, pending: 0, error: undefined });
  assert.equal(clean.msg, 'mailbox info: 5 listed, 4 fetched, 2 delivered, 3 removed');
  assert.equal(
    passLine({ ...summary, error: undefined }, true).msg,
    'mailbox info retry: 2 delivered, 1 deferred, 1 quarantined, 1 waiting for delivery',
  );
});
