// A mailbox's next message is read from the provider while the one before it is with the target, and
// that overlap changes nothing the pass decides: one transaction at a time (the duplicate window stays
// one message), every delivery counted before the pass removes anything, and a target that goes down
// stops further fetching.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { Target } from '../delivery/target.js';
import { PostboteError } from '../errors.js';
import { silentLogger } from '../log.js';
import { emptySession, plainPlan, schedulerContext } from '../scheduler/test-context.js';
import { acceptedAll, fakeConnection } from '../smtp/test-support.test.js';
import type { SourceMessage } from '../source/types.js';
import { runMailboxPass } from './mailbox-pass.js';

const MESSAGES: SourceMessage[] = [1, 2, 3, 4].map((n) => ({ uid: `u${n}`, num: n, size: 60 }));

function text(msg: SourceMessage): string {
  return `Message-ID: <${msg.uid}@example.com>\r\nSubject: ${msg.uid}\r\n\r\nbody\r\n`;
}

/**
 * A target whose transactions wait until the test lets them end (`release`), answering 250 or, while
 * `down` is set, failing as a dropped connection does. `events` logs what happened in order.
 */
function gatedTarget(events: string[], state: { down: boolean }) {
  const gates: Array<() => void> = [];
  const connection = () =>
    fakeConnection(async (envelope, body) => {
      const subject = /Subject: (\S+)/.exec(await collect(body))?.[1];
      events.push(`send ${subject}`);
      await new Promise<void>((resolve) => gates.push(resolve));
      events.push(`sent ${subject}`);
      if (state.down) throw new PostboteError('CONNECTION_CLOSED', 'reset by peer', { temporary: true });
      return acceptedAll(envelope);
    });
  const target = new Target(
    { host: '127.0.0.1', port: 25, tls: 'none', helo: 'h', maxConnections: 4 },
    async () => connection(),
    silentLogger(),
  );
  // Lets the oldest waiting transaction end, whenever one is waiting.
  const releaser = setInterval(() => gates.shift()?.(), 5);
  return { target, stop: () => clearInterval(releaser) };
}

async function collect(body: Readable): Promise<string> {
  let s = '';
  for await (const chunk of body) s += chunk.toString();
  return s;
}

async function world(down: boolean) {
  const events: string[] = [];
  const state = { down };
  const ctx = await schedulerContext();
  const gated = gatedTarget(events, state);
  ctx.target = gated.target;
  const deleted: string[] = [];
  const plan = plainPlan('box', 'pop.example', async () =>
    emptySession('pop.example', {
      list: async () => ({ messages: MESSAGES, refused: [] }),
      retrieve: (msg) => {
        events.push(`retrieve ${msg.uid}`);
        return Readable.from([Buffer.from(text(msg))]);
      },
      delete: async (msgs) => {
        deleted.push(...msgs.map((m) => m.uid));
        return [];
      },
    }),
  );
  const summary = await runMailboxPass(ctx, plan).finally(gated.stop);
  return { events, summary, deleted, ctx };
}

test('the next message is fetched while the one before it is with the target, one transaction at a time', async () => {
  const { events, summary, deleted } = await world(false);
  const at = (e: string) => events.indexOf(e);
  // Without the overlap, u2 would be retrieved only after u1 was sent.
  assert.ok(at('retrieve u2') < at('sent u1'), `u2 is read while u1 is delivered: ${events.join(', ')}`);
  // The next transaction starts only once the one before is counted: never two 250s unrecorded.
  for (const [a, b] of [
    ['u1', 'u2'],
    ['u2', 'u3'],
    ['u3', 'u4'],
  ])
    assert.ok(at(`sent ${a}`) < at(`send ${b}`), `${b} waits for ${a}: ${events.join(', ')}`);
  assert.equal(summary.fetched, 4);
  assert.equal(summary.delivered, 4);
  assert.deepEqual(deleted.sort(), ['u1', 'u2', 'u3', 'u4'], 'every delivered message removed at the source');
});

test('a target that goes down: the message read meanwhile stays recorded for later, nothing more is fetched', async () => {
  const { events, summary, deleted, ctx } = await world(true);
  // u3 may be requested (the prefetch asks ahead) but is dropped unread and never recorded.
  assert.equal(summary.fetched, 2, events.join(', '));
  assert.ok(!events.includes('send u2'), 'u2 is not handed to a target known to be down');
  assert.equal(summary.pending, 2);
  assert.equal(summary.error?.code, 'CONNECTION_CLOSED', 'the pass reports the target down');
  assert.deepEqual(deleted, [], 'nothing removed at the source');
  const states = (await ctx.store.messagesOf('box')).map((r) => `${r.uid} ${r.state}`);
  assert.deepEqual(states, ['u1 deferred', 'u2 spooled']);
  // Its bytes outlive the pass: the clean-up's fsync round filed them.
  const u2 = (await ctx.store.messagesOf('box'))[1]!;
  assert.ok(await ctx.spool.intact(u2.spoolKey!, u2.size, u2.sha256));
});
