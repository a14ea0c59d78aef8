// Two copies of one message routed at the same moment (two catch-all mailboxes fetched in parallel,
// the same mail reaching both by two paths) are delivered once: the second copy's duplicate check sees
// the first copy's record, however their passes interleave.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { emptySession, plainPlan, schedulerContext } from '../scheduler/test-context.js';
import type { SourceMessage } from '../source/types.js';
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

test('two copies of one message routed at the same moment: one is delivered, the other is a duplicate', async () => {
  const ctx = await schedulerContext();
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
  // Both copies arrive in the same turn of the event loop, each in chunks (as a socket delivers them).
  const stream = (b: Buffer) => Readable.from([b.subarray(0, 40), b.subarray(40)]);
  const fetched = await Promise.all([
    fetchMessage(ctx, plans[0]!, msg, stream(copy('carol@example.com')), () => {}),
    fetchMessage(ctx, plans[1]!, msg, stream(copy('sales@example.com')), () => {}),
  ]);
  const records = await Promise.all(
    fetched.map((f) => ctx.store.get(f.kind === 'recorded' ? f.record.id : f.outcome.record.id)),
  );
  const statuses = records.map((r) => r!.recipients.map((x) => `${x.address} ${x.status}`).join(', '));
  assert.deepEqual(statuses.sort(), ['carol@corp.local duplicate', 'carol@corp.local pending']);
  await ctx.store.close();
});
