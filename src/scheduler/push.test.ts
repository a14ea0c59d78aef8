// Push-triggered passes with a scripted push source: a pass at once on new mail, bursts coalesced,
// watchers closed first on stop, added and removed by a reload, idleConnections counted per host.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../log.js';
import type { SourceSession } from '../source/types.js';
import type { PushSource, PushStart } from './push.js';
import { type ScheduledPlan, Scheduler } from './scheduler.js';
import { emptySession, plainPlan, schedulerContext } from './test-context.js';

const HOUR = 3_600_000;
const context = schedulerContext;

/** A push source driven by the test: `fire()` announces new mail; it logs start and stop. */
function fakePush(host: string, key = 'k', events: string[] = [], slotsWanted = 1) {
  const w = {
    events,
    starts: 0,
    granted: 0,
    start: undefined as PushStart | undefined,
    fire: () => w.start?.onNew('INBOX'),
    source: {
      key,
      host,
      start(o: PushStart) {
        w.starts++;
        w.start = o;
        events.push('watch-started');
        const releases: Array<() => void> = [];
        for (let i = 0; i < slotsWanted; i++)
          o.acquire().then(
            (r) => {
              w.granted++;
              releases.push(r);
            },
            () => undefined,
          );
        return {
          async stop() {
            events.push('watch-stopped');
            for (const r of releases.splice(0)) {
              w.granted--;
              r();
            }
          },
        };
      },
    } satisfies PushSource,
  };
  return w;
}

/** A mailbox with nothing new whose pass takes `passMs`; counts its sessions. */
function plan(name: string, push: PushSource | undefined, passMs = 20, events: string[] = []) {
  const counts = { opened: 0 };
  const p: ScheduledPlan = {
    ...plainPlan(name, push?.host ?? 'h', async (): Promise<SourceSession> => {
      counts.opened++;
      return emptySession('h', {
        protocol: 'imap',
        async list() {
          await sleep(passMs);
          return { messages: [], refused: [] };
        },
        close: async () => {
          events.push('session-closed');
        },
      });
    }),
    protocol: 'imap',
    interval: HOUR,
    ...(push ? { push } : {}),
  };
  return { plan: p, counts };
}

async function until(what: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

test('new mail announced by the watcher runs a pass at once, whatever the interval; a burst during a pass gets one follow-up', async () => {
  const ctx = await context();
  const w = fakePush('a');
  const m = plan('mb', w.source, 300);
  const s = new Scheduler(ctx, [m.plan], { concurrency: 2, perHostConnections: 2 }, silentLogger());
  s.start();
  assert.equal(w.starts, 1, 'the watcher starts with the scheduler');
  // The first poll (spread over the first seconds) runs; then only pushes may start passes.
  await until(() => s.statuses()[0]?.last !== undefined);
  assert.equal(m.counts.opened, 1);
  w.fire();
  await until(() => m.counts.opened === 2, 1000);
  // Five announcements while that pass runs: one more pass after it, never two at once.
  for (let i = 0; i < 5; i++) w.fire();
  await until(() => !s.busy('mb') && m.counts.opened === 3, 3000);
  await sleep(400);
  assert.equal(m.counts.opened, 3);
  await s.stop();
  await ctx.store.close();
});

test('stop() closes the watchers before the pass in hand ends, and nothing they announce afterwards runs', async () => {
  const ctx = await context();
  const events: string[] = [];
  const w = fakePush('a', 'k', events);
  const m = plan('mb', w.source, 300, events);
  const s = new Scheduler(ctx, [m.plan], { concurrency: 2, perHostConnections: 2 }, silentLogger());
  s.start();
  const pass = s.runNow('mb');
  await sleep(50);
  await s.stop();
  await pass;
  assert.deepEqual(events, ['watch-started', 'watch-stopped', 'session-closed']);
  w.fire();
  await sleep(50);
  assert.equal(m.counts.opened, 1);
  await ctx.store.close();
});

test('a reload starts the watchers of added mailboxes, stops those of removed ones and restarts a changed one', async () => {
  const ctx = await context();
  const a = fakePush('h', 'a1');
  const b = fakePush('h', 'b1');
  const s = new Scheduler(
    ctx,
    [plan('a', a.source).plan],
    { concurrency: 2, perHostConnections: 2 },
    silentLogger(),
  );
  s.start();
  s.reconfigure([plan('a', a.source).plan, plan('b', b.source).plan]);
  assert.deepEqual([a.starts, b.starts], [1, 1], 'same key: a keeps its watcher; b gets one');
  const a2 = fakePush('h', 'a2');
  s.reconfigure([plan('a', a2.source).plan]);
  assert.deepEqual(a.events, ['watch-started', 'watch-stopped'], 'a changed: its old watcher stopped');
  assert.deepEqual(b.events, ['watch-started', 'watch-stopped'], 'b removed');
  assert.equal(a2.starts, 1);
  s.reconfigure([plan('a', undefined).plan]);
  assert.deepEqual(a2.events, ['watch-started', 'watch-stopped'], 'idle: false stops the watcher');
  await s.stop();
  await ctx.store.close();
});

test('idleConnections caps watching connections per host, apart from perHostConnections; a freed slot goes to the next', async () => {
  const ctx = await context();
  const a = fakePush('h', 'a', [], 2);
  const b = fakePush('h', 'b', [], 2);
  const other = fakePush('elsewhere', 'o', [], 2);
  const s = new Scheduler(
    ctx,
    [plan('a', a.source).plan, plan('b', b.source).plan, plan('o', other.source).plan],
    { concurrency: 4, perHostConnections: 1, idleConnections: 3 },
    silentLogger(),
  );
  s.start();
  await sleep(20);
  assert.equal(
    a.granted + b.granted,
    3,
    'three watching connections on host h, though perHostConnections is 1',
  );
  assert.equal(other.granted, 2, 'another host has its own cap');
  s.reconfigure([plan('b', b.source).plan, plan('o', other.source).plan]);
  await sleep(20);
  assert.equal(b.granted, 2, 'the removed mailbox’s slots went to the one waiting');
  await s.stop();
  await ctx.store.close();
});

test('a watcher still waiting for a slot of idleConnections is let go by stop()', async () => {
  const ctx = await context();
  const a = fakePush('h', 'a', [], 1);
  let waiting: Promise<unknown> | undefined;
  const b = {
    key: 'b',
    host: 'h',
    start(o: PushStart) {
      waiting = o.acquire();
      return { stop: async () => undefined };
    },
  } satisfies PushSource;
  const s = new Scheduler(
    ctx,
    [plan('a', a.source).plan, plan('b', b).plan],
    { concurrency: 2, perHostConnections: 2, idleConnections: 1 },
    silentLogger(),
  );
  s.start();
  await sleep(20);
  assert.equal(a.granted, 1);
  await s.stop();
  await assert.rejects(waiting!, /the watcher stopped/);
  await ctx.store.close();
});
