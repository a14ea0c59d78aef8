import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MailboxPlan } from '../connector/mailbox-pass.js';
import { PostboteError } from '../errors.js';
import { silentLogger } from '../log.js';
import type { SourceSession } from '../source/types.js';
import { needsAction, nextPollDelay, Scheduler } from './scheduler.js';
import { emptySession, plainPlan, schedulerContext } from './test-context.js';

const context = schedulerContext;

/** Mailboxes whose sessions take a while and report how many run at once, overall and per host. */
function plans(hosts: string[], opts: { failFirst?: string } = {}) {
  const active = new Map<string, number>();
  const peak = { all: 0, perHost: new Map<string, number>(), perMailbox: new Map<string, number>() };
  let total = 0;
  const opened = new Map<string, number>();
  const list: Array<MailboxPlan & { interval: number }> = hosts.map((host, i) => {
    const name = `mb${i}`;
    return {
      ...plainPlan(name, host, async (): Promise<SourceSession> => {
        opened.set(name, (opened.get(name) ?? 0) + 1);
        if (opts.failFirst === name && opened.get(name) === 1) {
          throw new PostboteError('CONNECT_FAILED', 'refused', { temporary: true });
        }
        total++;
        active.set(host, (active.get(host) ?? 0) + 1);
        active.set(name, (active.get(name) ?? 0) + 1);
        peak.all = Math.max(peak.all, total);
        peak.perHost.set(host, Math.max(peak.perHost.get(host) ?? 0, active.get(host)!));
        peak.perMailbox.set(name, Math.max(peak.perMailbox.get(name) ?? 0, active.get(name)!));
        const done = () => {
          total--;
          active.set(host, active.get(host)! - 1);
          active.set(name, active.get(name)! - 1);
        };
        return emptySession(host, {
          async list() {
            await sleep(30);
            return { messages: [], refused: [] };
          },
          close: async () => done(),
          abort: () => done(),
        });
      }),
      interval: 60_000,
    };
  });
  return { list, peak, opened };
}

test('runs mailboxes in parallel within the global and per-host limits', async () => {
  const ctx = await context();
  const p = plans(['a', 'a', 'a', 'b', 'b', 'c']);
  const s = new Scheduler(ctx, p.list, { concurrency: 4, perHostConnections: 2 }, silentLogger());
  const summaries = await s.runAll();
  await s.stop();
  assert.equal(summaries.length, 6);
  assert.ok(summaries.every((x) => x.ok));
  assert.ok(p.peak.all <= 4, `peak ${p.peak.all}`);
  assert.ok(p.peak.all >= 2, 'mailboxes ran in parallel');
  assert.equal(p.peak.perHost.get('a'), 2);
  await ctx.store.close();
});

test('never opens two sessions on one mailbox: a second request joins the pass in hand', async () => {
  const ctx = await context();
  const p = plans(['a']);
  const s = new Scheduler(ctx, p.list, { concurrency: 4, perHostConnections: 4 }, silentLogger());
  const [x, y] = await Promise.all([s.runNow('mb0'), s.runNow('mb0')]);
  await s.stop();
  assert.equal(x, y);
  assert.equal(p.opened.get('mb0'), 1);
  assert.equal(p.peak.perMailbox.get('mb0'), 1);
  await ctx.store.close();
});

test('a failing mailbox is marked failing with its error, and recovers on the next pass', async () => {
  const ctx = await context();
  const p = plans(['a'], { failFirst: 'mb0' });
  const s = new Scheduler(ctx, p.list, { concurrency: 1, perHostConnections: 1 }, silentLogger());
  const first = await s.runNow('mb0');
  assert.equal(first.ok, false);
  assert.equal(s.statuses()[0]?.state, 'failing');
  assert.equal(s.statuses()[0]?.failures, 1);
  assert.ok((s.statuses()[0]?.nextRunAt ?? 0) > Date.now(), 'next poll scheduled');
  const second = await s.runNow('mb0');
  assert.equal(second.ok, true);
  assert.equal(s.statuses()[0]?.state, 'idle');
  await s.stop();
  await ctx.store.close();
});

/** A mailbox whose session hangs in list() until it is aborted, like a server trickling forever. */
function hangingPlan(onAbort: () => void): MailboxPlan & { interval: number } {
  const base = plans(['slow']).list[0]!;
  return {
    ...base,
    async open(): Promise<SourceSession> {
      let fail: (err: Error) => void = () => undefined;
      const hang = new Promise<never>((_, reject) => {
        fail = reject;
      });
      return {
        ...(await base.open()),
        list: () => hang,
        abort: () => {
          onAbort();
          fail(new PostboteError('CANCELLED', 'session aborted', { temporary: true }));
        },
      };
    },
  };
}

test('stop() aborts a session still busy after the shutdown grace, and starts no pass after it', async () => {
  const ctx = await context();
  let aborted = 0;
  const s = new Scheduler(
    ctx,
    [hangingPlan(() => aborted++)],
    { concurrency: 1, perHostConnections: 1, shutdownGrace: 300 },
    silentLogger(),
  );
  const pass = s.runNow('mb0');
  await sleep(50);
  const started = Date.now();
  await Promise.race([s.stop(), sleep(5000).then(() => assert.fail('stop() still waiting after 5 s'))]);
  assert.ok(Date.now() - started < 2000, `stopped after ${Date.now() - started} ms`);
  assert.ok(aborted >= 1, 'the session was dropped');
  const summary = await pass;
  assert.equal(summary.ok, false);
  assert.equal(summary.deferred, 0);
  await assert.rejects(s.runNow('mb0'), { code: 'CANCELLED' });
  await ctx.store.close();
});

test('reconfigure: the pass in hand keeps its plan; a removed mailbox is not polled again; an added one is', async () => {
  const ctx = await context();
  const v1 = plans(['a']);
  const v2 = plans(['a', 'b']);
  const s = new Scheduler(ctx, v1.list, { concurrency: 2, perHostConnections: 2 }, silentLogger());
  const pass = s.runNow('mb0');
  s.reconfigure(v2.list); // mb0 changed, mb1 added, while mb0's pass waits for its turn
  assert.equal((await pass).ok, true);
  assert.equal(v1.opened.get('mb0'), 1, 'the pass in hand used the plan it started with');
  assert.equal(v2.opened.get('mb0'), undefined);
  assert.deepEqual(
    s.statuses().map((x) => x.name),
    ['mb0', 'mb1'],
  );
  await s.runNow('mb1');
  assert.equal(v2.opened.get('mb1'), 1);
  s.reconfigure([v2.list[1]!]);
  assert.deepEqual(
    s.statuses().map((x) => x.name),
    ['mb1'],
  );
  assert.throws(() => s.runNow('mb0'), /no mailbox named mb0/);
  await s.stop();
  await ctx.store.close();
});

test('a permanent failure before listing waits an hour and needs action; a temporary one backs off', () => {
  const minute = 60_000;
  const err = (code: 'POP3_AUTH' | 'TLS_FAILED' | 'CONNECT_FAILED', temporary: boolean) =>
    new PostboteError(code, code, { temporary });
  const cases: Array<
    [string, { ok: boolean; listed: number; error?: PostboteError }, number, number, boolean]
  > = [
    ['ok', { ok: true, listed: 3 }, 1, minute, false],
    [
      'connection refused, first failure',
      { ok: false, listed: 0, error: err('CONNECT_FAILED', true) },
      1,
      minute,
      false,
    ],
    [
      'connection refused, third failure',
      { ok: false, listed: 0, error: err('CONNECT_FAILED', true) },
      3,
      4 * minute,
      false,
    ],
    ['wrong password', { ok: false, listed: 0, error: err('POP3_AUTH', false) }, 1, 3_600_000, true],
    [
      'certificate not trusted',
      { ok: false, listed: 0, error: err('TLS_FAILED', false) },
      2,
      3_600_000,
      true,
    ],
    // a permanent problem with one message (it is quarantined after a few passes) holds nothing back
    ['one message unreadable', { ok: false, listed: 5, error: err('TLS_FAILED', false) }, 1, minute, false],
  ];
  for (const [name, summary, failures, delay, action] of cases) {
    assert.equal(nextPollDelay(minute, failures, summary), delay, name);
    assert.equal(needsAction(summary), action, name);
  }
  assert.equal(
    nextPollDelay(2 * 3_600_000, 1, cases[3]![1]),
    2 * 3_600_000,
    'never sooner than the interval',
  );
});

test('runAll with more mailboxes than sessions starts those whose last pass took longest first', async () => {
  const ctx = await context();
  const p = plans(['a', 'a', 'a', 'a']);
  const started: string[] = [];
  for (const plan of p.list) {
    const open = plan.open.bind(plan);
    plan.open = (...args) => {
      started.push(plan.name);
      return open(...args);
    };
  }
  const took = { mb0: 1_000, mb2: 9_000, mb3: 4_000 }; // mb1: never fetched before
  for (const [mailbox, ms] of Object.entries(took)) {
    await ctx.store.recordSession({
      mailbox,
      startedAt: 1_000_000,
      endedAt: 1_000_000 + ms,
      listed: 1,
      fetched: 1,
      delivered: 1,
      deferred: 0,
      quarantined: 0,
      removed: 1,
      bytes: 100,
      error: null,
    });
  }
  const s = new Scheduler(ctx, p.list, { concurrency: 2, perHostConnections: 2 }, silentLogger());
  const summaries = await s.runAll();
  await s.stop();
  assert.deepEqual(started, ['mb2', 'mb3', 'mb0', 'mb1']);
  // The summaries keep the configuration's order (the CLI prints them so).
  assert.deepEqual(
    summaries.map((x) => x.mailbox),
    ['mb0', 'mb1', 'mb2', 'mb3'],
  );
  await ctx.store.close();
});
