import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RecipientReply } from '../smtp/types.js';
import type { RecipientRecord, StoredReply } from '../store/types.js';
import { applyReplies, describeReply } from './recipient-replies.js';

const pending = (address: string): RecipientRecord => ({ address, status: 'pending', reason: 'routed' });
const rcpt = (address: string, code: number, enhanced: string | undefined, text: string): RecipientReply => ({
  address,
  stage: 'RCPT',
  reply: { code, enhanced, text },
});
const statuses = (out: RecipientRecord[]) => out.map((r) => [r.address, r.status]);

test('2xx delivers, 4xx stays pending, 5xx without a fallback is refused', () => {
  const log: Array<{ address: string; reply?: StoredReply }> = [];
  const out = applyReplies(
    [pending('a@corp'), pending('b@corp'), pending('c@corp')],
    [
      rcpt('a@corp', 250, '2.1.5', 'ok'),
      rcpt('b@corp', 451, '4.3.0', 'later'),
      rcpt('c@corp', 550, '5.1.1', 'no'),
    ],
    undefined,
    log,
    () => assert.fail('not too large'),
  );
  assert.deepEqual(statuses(out), [
    ['a@corp', 'delivered'],
    ['b@corp', 'pending'],
    ['c@corp', 'refused'],
  ]);
  assert.equal(log.length, 3);
  assert.deepEqual(out[2]!.reply, { code: 550, enhanced: '5.1.1', text: 'no' });
});

test('a 5xx recipient is rerouted to the fallback once, which is added as pending with the reason', () => {
  const out = applyReplies(
    [pending('a@corp'), pending('b@corp')],
    [rcpt('a@corp', 550, '5.1.1', 'unknown'), rcpt('b@corp', 550, undefined, 'unknown')],
    'postmaster@corp',
    [],
    () => assert.fail('not too large'),
  );
  assert.deepEqual(statuses(out), [
    ['a@corp', 'rerouted'],
    ['b@corp', 'refused'],
    ['postmaster@corp', 'pending'],
  ]);
  assert.equal(out[2]!.reason, 'fallback for a@corp, refused: 550 5.1.1 unknown');
});

test('a message too large is refused and reported, not rerouted; the input is not changed', () => {
  const recipients = [pending('a@corp')];
  let tooLarge: StoredReply | undefined;
  const out = applyReplies([...recipients], [rcpt('a@corp', 552, '5.3.4', 'too big')], 'pm@corp', [], (r) => {
    tooLarge = r;
  });
  assert.deepEqual(statuses(out), [['a@corp', 'refused']]);
  assert.deepEqual(tooLarge, { code: 552, enhanced: '5.3.4', text: 'too big' });
  assert.equal(recipients[0]!.status, 'pending');
});

test('describeReply shows code, enhanced code and text, or that there was none', () => {
  assert.equal(describeReply({ code: 451, enhanced: '4.3.0', text: 'later' }), '451 4.3.0 later');
  assert.equal(describeReply({ code: 550, text: 'no' }), '550 no');
  assert.equal(describeReply(undefined), 'no reply');
});
