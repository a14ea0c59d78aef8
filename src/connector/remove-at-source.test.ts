// Removal at the source under a lease (several instances on one database): the lease is checked in
// the database right before DELE/EXPUNGE, and a lost one means no DELE, no \Seen, no QUIT.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { emptySession, schedulerContext } from '../scheduler/test-context.js';
import type { SourceMessage, SourceSession } from '../source/types.js';
import { LeaseLostError } from '../store/postgres-leases.js';
import type { MessageRecord } from '../store/types.js';
import type { MailboxPlan } from './plan.js';
import { removeAtSource } from './remove-at-source.js';

const listed: SourceMessage[] = [{ uid: 'u1', num: 1, size: 10 }];
const delivered = { id: 1, state: 'delivered', spoolKey: null, fetchedAt: 0 } as unknown as MessageRecord;

function session(calls: string[]): SourceSession {
  return emptySession('pop.example.net', {
    list: async () => ({ messages: listed, refused: [] }),
    delete: async (messages) => {
      calls.push(`DELE ${messages.map((m) => m.num).join(' ')}`);
      return [];
    },
    markKept: async () => {
      calls.push('seen');
      return [];
    },
    close: async () => {
      calls.push('QUIT');
    },
    abort: () => calls.push('abort'),
  });
}

const plan = (keep: boolean) =>
  ({ name: 'info', protocol: 'pop3', host: 'pop.example.net', keep }) as unknown as MailboxPlan;

const cases: Array<{ name: string; keep: boolean; lease: 'held' | 'lost'; calls: string[] }> = [
  { name: 'lease held: DELE, then QUIT', keep: false, lease: 'held', calls: ['assert', 'DELE 1', 'QUIT'] },
  { name: 'lease lost: no DELE, no QUIT', keep: false, lease: 'lost', calls: ['assert'] },
  { name: 'keep mode, lease lost: not marked read either', keep: true, lease: 'lost', calls: ['assert'] },
];

for (const c of cases) {
  test(`removal at the source under a lease: ${c.name}`, async () => {
    const ctx = await schedulerContext();
    const calls: string[] = [];
    const assertLease = async () => {
      calls.push('assert');
      if (c.lease === 'lost') throw new LeaseLostError('info', 3, 'now held under token 4');
    };
    const run = removeAtSource(
      ctx,
      plan(c.keep),
      session(calls),
      listed,
      new Map([[1, delivered]]),
      true,
      assertLease,
    );
    if (c.lease === 'lost') await assert.rejects(run, LeaseLostError);
    else assert.equal((await run).count, 1);
    assert.deepEqual(calls, c.calls);
    await ctx.store.close();
  });
}

test('removal at the source: nothing to remove asks no lease (an idle poll costs no round trip)', async () => {
  const ctx = await schedulerContext();
  const calls: string[] = [];
  await removeAtSource(ctx, plan(false), session(calls), listed, new Map(), false, async () => {
    calls.push('assert');
  });
  assert.deepEqual(calls, ['QUIT']);
  await ctx.store.close();
});

test('a quarantined message whose bytes this spool lacks stays at the provider (its only copy)', async () => {
  const ctx = await schedulerContext();
  const calls: string[] = [];
  const two: SourceMessage[] = [...listed, { uid: 'u2', num: 2, size: 10 }];
  const quarantined = (id: number, spoolKey: string) =>
    ({ id, state: 'quarantined', spoolKey, fetchedAt: 0, mailbox: 'info' }) as unknown as MessageRecord;
  // u1's bytes were fetched and are held (filed by the fsync round); u2's file is gone (a crash
  // between the quarantine and its file in an earlier version, or a lost disk).
  const held = await ctx.spool.write(Readable.from([Buffer.from('Subject: q\r\n\r\nx\r\n')]), 100);
  const matched = new Map([
    [1, quarantined(1, held.key)],
    [2, quarantined(2, 'gone-key')],
  ]);
  const removed = await removeAtSource(ctx, plan(false), session(calls), two, matched, true);
  assert.deepEqual(calls, ['DELE 1', 'QUIT']);
  assert.equal(removed.count, 1);
  assert.match(removed.problems[0]?.message ?? '', /quarantined message 2 kept at the provider/);
  assert.ok(existsSync(ctx.spool.path(held.key)), 'the held bytes were filed before DELE');
  await ctx.store.close();
});
