// The scheduler under a lease provider (a fake one here; the PostgreSQL one is tested end to end in
// test/e2e/scale-out.test.ts): no pass without a lease, the pass writes through the lease's store, a
// lost lease stops the pass without crashing it, and wake-ups for another instance's mailbox do nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import type { MailboxPlan } from '../connector/mailbox-pass.js';
import { silentLogger } from '../log.js';
import { LeaseLostError } from '../store/postgres-leases.js';
import type { Store } from '../store/types.js';
import type { LeaseAnswer, LeaseProvider, PassLease } from './leases.js';
import { passLine } from './log-lines.js';
import { Scheduler } from './scheduler.js';
import { emptySession, plainPlan, schedulerContext } from './test-context.js';

/** Mailboxes with an empty provider mailbox; `opened` counts sessions per mailbox. */
function plans(names: string[]) {
  const opened = new Map<string, number>();
  const list: Array<MailboxPlan & { interval: number }> = names.map((name) => ({
    ...plainPlan(name, 'pop.example.net', async () => {
      opened.set(name, (opened.get(name) ?? 0) + 1);
      return emptySession('pop.example.net');
    }),
    interval: 60_000,
  }));
  return { list, opened };
}

/** A provider that grants the mailboxes in `mine`, says `other#1` holds the rest, and logs its calls. */
function fakeLeases(mine: string[], lease: (mailbox: string) => PassLease = () => ({})) {
  const calls: string[] = [];
  const provider: LeaseProvider = {
    async mayRun(mailbox, explicit): Promise<LeaseAnswer> {
      calls.push(`mayRun ${mailbox} ${explicit ? 'explicit' : 'scheduled'}`);
      return mine.includes(mailbox) ? { lease: lease(mailbox) } : { heldBy: 'other#1' };
    },
    async passEnded(mailbox) {
      calls.push(`ended ${mailbox}`);
    },
    close: async () => undefined,
  };
  return { provider, calls };
}

/** A logger whose warnings and errors are collected. */
function capturing(): { logger: pino.Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = pino(
    { level: 'warn' },
    {
      write: (line: string) => {
        warnings.push(JSON.parse(line).msg);
      },
    },
  );
  return { logger, warnings };
}

test('a mailbox another instance holds is not run here: no session, a summary naming the holder', async () => {
  const ctx = await schedulerContext();
  const p = plans(['mine', 'theirs']);
  const leases = fakeLeases(['mine']);
  const s = new Scheduler(
    ctx,
    p.list,
    { concurrency: 2, perHostConnections: 2, leases: leases.provider },
    silentLogger(),
  );
  const [mine, theirs] = await s.runAll();
  await s.stop();
  assert.equal(mine?.ok, true);
  assert.equal(mine?.heldBy, undefined);
  assert.equal(p.opened.get('mine'), 1);
  assert.equal(theirs?.heldBy, 'other#1');
  assert.equal(theirs?.ok, false);
  assert.equal(theirs?.error?.code, 'STATE_IN_USE');
  assert.match(theirs?.error?.message ?? '', /mailbox theirs is held by instance other#1/);
  assert.equal(p.opened.get('theirs'), undefined, 'no session for a mailbox without a lease');
  // runAll is a person's request: the provider may take any free mailbox; the lease is handed back after.
  assert.deepEqual(leases.calls.sort(), ['ended mine', 'mayRun mine explicit', 'mayRun theirs explicit']);
  // Not counted as a failure here, and polled again later (the holder may die).
  const status = s.statuses().find((x) => x.name === 'theirs')!;
  assert.equal(status.failures, 0);
  assert.notEqual(status.state, 'failing');
  await ctx.store.close();
});

test('requestRun of a mailbox held elsewhere is a harmless no-op (a wake-up meant for the holder)', async () => {
  const ctx = await schedulerContext();
  const p = plans(['theirs']);
  const leases = fakeLeases([]);
  const passes: unknown[] = [];
  const s = new Scheduler(
    ctx,
    p.list,
    { concurrency: 1, perHostConnections: 1, leases: leases.provider, onPass: (x) => passes.push(x) },
    silentLogger(),
  );
  s.requestRun('theirs');
  s.requestRun('theirs');
  for (let i = 0; i < 50 && s.busy('theirs'); i++) await sleep(5);
  await sleep(20);
  await s.stop();
  assert.equal(p.opened.get('theirs'), undefined);
  assert.deepEqual(passes, [], 'no pass reported');
  assert.ok(
    leases.calls.every((c) => c === 'mayRun theirs scheduled'),
    leases.calls.join(', '),
  );
  assert.equal(s.statuses()[0]?.failures, 0);
  await ctx.store.close();
});

test('the pass writes through the store its lease gives', async () => {
  const ctx = await schedulerContext();
  const p = plans(['mine']);
  const sessions: string[] = [];
  const fenced = new Proxy(ctx.store, {
    get(target, prop, receiver) {
      if (prop === 'recordSession')
        return async (x: { mailbox: string }) => {
          sessions.push(x.mailbox);
          return target.recordSession(x as never);
        };
      return Reflect.get(target, prop, receiver);
    },
  }) as Store;
  const leases = fakeLeases(['mine'], () => ({ store: fenced }));
  const s = new Scheduler(
    ctx,
    p.list,
    { concurrency: 1, perHostConnections: 1, leases: leases.provider },
    silentLogger(),
  );
  assert.equal((await s.runNow('mine')).ok, true);
  await s.stop();
  assert.deepEqual(sessions, ['mine']);
  await ctx.store.close();
});

test('a pass whose lease is lost stops at the write that finds out: no crash, said once in its pass line, lease handed back', async () => {
  const ctx = await schedulerContext();
  const p = plans(['mine']);
  const lost = new Proxy(ctx.store, {
    get(target, prop, receiver) {
      if (prop === 'recordSession')
        return async () => {
          throw new LeaseLostError('mine', 7, 'now held under token 8');
        };
      return Reflect.get(target, prop, receiver);
    },
  }) as Store;
  const leases = fakeLeases(['mine'], () => ({ store: lost }));
  const { logger, warnings } = capturing();
  const lines: string[] = [];
  const s = new Scheduler(
    ctx,
    p.list,
    {
      concurrency: 1,
      perHostConnections: 1,
      leases: leases.provider,
      onPass: (summary, retry) => lines.push(passLine(summary, retry).msg),
    },
    logger,
  );
  const summary = await s.runNow('mine');
  await s.stop();
  assert.equal(summary.ok, false);
  assert.ok(summary.error instanceof LeaseLostError);
  assert.equal(summary.heldBy, undefined);
  assert.deepEqual(warnings, [], 'no crash logged');
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /the lease on mailbox mine \(token 7\) is lost: now held under token 8/);
  assert.ok(leases.calls.includes('ended mine'));
  await ctx.store.close();
});

test('without a lease provider (a folder state) every pass runs as before', async () => {
  const ctx = await schedulerContext();
  const p = plans(['a', 'b']);
  const s = new Scheduler(ctx, p.list, { concurrency: 2, perHostConnections: 2 }, silentLogger());
  const summaries = await s.runAll();
  await s.stop();
  assert.ok(summaries.every((x) => x.ok && x.heldBy === undefined));
  assert.equal(p.opened.get('a'), 1);
  assert.equal(p.opened.get('b'), 1);
  await ctx.store.close();
});
