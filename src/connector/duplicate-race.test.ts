// Two copies of one message routed at the same moment (two catch-all mailboxes fetched in parallel,
// the same mail reaching both by two paths) are delivered once: in one process the second copy's
// duplicate check sees the first copy's record, however their passes interleave; across instances on
// one state the store refuses the second record and the copy is routed again.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { emptySession, plainPlan, schedulerContext } from '../scheduler/test-context.js';
import type { SourceMessage } from '../source/types.js';
import type { MessageRecord } from '../store/types.js';
import { fetchMessage } from './fetch-message.js';

const copy = (deliveredTo: string) =>
  Buffer.from(
    [
      `Delivered-To: ${deliveredTo}`,
      'From: Shop <orders@shop.example>',
      'To: carol@example.com',
      'Subject: Bestellung 7',
      'Message-ID: <order-7@shop.example>',
      '',
      'Danke!',
      '',
    ].join('\r\n'),
  );

const route = {
  catchAll: {
    domains: ['example.com'],
    rewriteDomain: 'corp.local',
    fallback: 'postmaster@corp.local',
    aliases: { 'sales@example.com': ['carol@corp.local'] },
    duplicateWindow: 3_600_000,
  },
};
const open = async () => emptySession('pop.example');
const plans = [
  { ...plainPlan('direct', 'pop.example', open), route },
  { ...plainPlan('sales', 'pop.example', open), route },
];
const msg: SourceMessage = { uid: 'u1', num: 1, size: 200 };
/** The copy's bytes in chunks, as a socket delivers them. */
const stream = (b: Buffer) => Readable.from([b.subarray(0, 40), b.subarray(40)]);
const statusOf = (r: MessageRecord | undefined) =>
  r!.recipients.map((x) => `${x.address} ${x.status}`).join(', ');

test('two copies of one message routed at the same moment: one is delivered, the other is a duplicate', async () => {
  const ctx = await schedulerContext();
  // Both copies arrive in the same turn of the event loop.
  const fetched = await Promise.all([
    fetchMessage(ctx, plans[0]!, msg, stream(copy('carol@example.com')), () => {}),
    fetchMessage(ctx, plans[1]!, msg, stream(copy('sales@example.com')), () => {}),
  ]);
  const records = await Promise.all(
    fetched.map((f) => ctx.store.get(f.kind === 'recorded' ? f.record.id : f.outcome.record.id)),
  );
  assert.deepEqual(records.map(statusOf).sort(), ['carol@corp.local duplicate', 'carol@corp.local pending']);
  await ctx.store.close();
});

test('a copy another instance recorded after this check: the record is refused, routed again, a duplicate', async () => {
  const ctx = await schedulerContext();
  const store = ctx.store;
  const first = await fetchMessage(ctx, plans[0]!, msg, stream(copy('carol@example.com')), () => {});
  assert.equal(first.kind, 'recorded');
  // The second copy's first check runs as if the other instance had not committed yet.
  let checks = 0;
  ctx.store = Object.assign(Object.create(store), {
    seenCopies: (...args: Parameters<typeof store.seenCopies>) =>
      ++checks === 1 ? Promise.resolve(new Map()) : store.seenCopies(...args),
  });
  const second = await fetchMessage(ctx, plans[1]!, msg, stream(copy('sales@example.com')), () => {});
  assert.equal(checks, 2, 'routed again after the refused record');
  assert.equal(second.kind, 'decided');
  const record = second.kind === 'decided' ? second.outcome.record : undefined;
  assert.equal(record?.state, 'duplicate');
  assert.equal(statusOf(record), 'carol@corp.local duplicate');
  assert.equal((await store.messagesOf('sales')).length, 1, 'one record: the refused one left nothing');
  await store.close();
});
