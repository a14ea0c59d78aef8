// The Prometheus metrics: every name users' dashboards know is still exported with its labels, the
// standard process and Node metrics come along, and target timings are recorded by the Target itself.

import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { Target } from '../delivery/target.js';
import { PostboteError } from '../errors.js';
import { silentLogger } from '../log.js';
import { acceptedAll, fakeConnection } from '../smtp/test-support.test.js';
import type { MessageRecord } from '../store/types.js';
import { Metrics } from './metrics.js';

/** Names (and label names) exported before prom-client, as `/metrics` printed them. */
const OLD_SERIES = [
  'postbote_messages_fetched_total{mailbox=',
  'postbote_messages_delivered_total{mailbox=',
  'postbote_messages_deferred_total{mailbox=',
  'postbote_messages_quarantined_total{mailbox=',
  'postbote_message_outcomes_total{mailbox="info",outcome="delivered"}',
  'postbote_fetched_bytes_total{mailbox=',
  'postbote_sessions_total{mailbox="info",result="ok"}',
  'postbote_sessions_total{mailbox="info",result="error"}',
  'postbote_errors_total{mailbox="info",code="POP3_AUTH"}',
  'postbote_session_duration_seconds_bucket{le="0.05",mailbox="info"}',
  'postbote_session_duration_seconds_sum{mailbox="info"}',
  'postbote_session_duration_seconds_count{mailbox="info"}',
  'postbote_target_transaction_seconds_bucket{le="0.005",result="ok"}',
  'postbote_target_transaction_seconds_bucket{le="+Inf",result="error"}',
  'postbote_target_transaction_seconds_count{result="ok"}',
  'postbote_source_tls_handshakes_total{resumed="true"}',
  'postbote_source_tls_handshakes_total{resumed="false"}',
  'postbote_messages_in_state{state="deferred"}',
  'postbote_target_up',
  'postbote_mailbox_failing{mailbox="info"}',
];

/** A target whose one connection answers 250 for everyone, or fails when `fail` is set. */
function fakeTarget(fail: { now: boolean }) {
  const conn = fakeConnection(async (envelope, body) => {
    body.resume();
    if (fail.now) throw new PostboteError('CONNECTION_CLOSED', 'reset', { temporary: true });
    return acceptedAll(envelope);
  });
  return new Target(
    { host: '127.0.0.1', port: 25, tls: 'none', helo: 'h', maxConnections: 1 },
    async () => conn,
    silentLogger(),
  );
}

function sources(target: Target) {
  return {
    store: {
      counts: async () => ({
        spooled: 0,
        deferred: 2,
        delivered: 5,
        quarantined: 1,
        deleted: 0,
        duplicate: 0,
      }),
    },
    target,
    scheduler: {
      statuses: () => [
        { name: 'info', state: 'failing' as const, failures: 1, nextRunAt: null, nextRetryAt: null },
      ],
    },
  };
}

function pass(ok: boolean) {
  return {
    mailbox: 'info',
    ok,
    listed: 1,
    fetched: 1,
    delivered: ok ? 1 : 0,
    deferred: 0,
    quarantined: 0,
    removed: 1,
    bytes: 1234,
    pending: 0,
    startedAt: 1000,
    endedAt: 1040,
    error: ok ? undefined : new PostboteError('POP3_AUTH', 'login refused', { temporary: false }),
  };
}

async function send(target: Target) {
  await target.send({ from: 'a@example.com', to: ['b@corp.local'], size: 3 }, () => Readable.from(['x']));
}

test('every metric name and label users knew is still exported, with process and Node metrics', async () => {
  const fail = { now: false };
  const target = fakeTarget(fail);
  const metrics = new Metrics(sources(target));
  const stop = metrics.watchTarget(target);
  const record: MessageRecord = {
    id: 1,
    mailbox: 'info',
    uid: '1',
    state: 'delivered',
    spoolKey: null,
    size: 10,
    sha256: '',
    messageId: null,
    sender: '',
    subject: null,
    recipients: [],
    attempts: 1,
    nextAttemptAt: null,
    reason: null,
    fetchedAt: 0,
    updatedAt: 0,
    sourceRemovedAt: null,
  };
  metrics.onEvent({
    type: 'message',
    mailbox: 'info',
    uid: '1',
    outcome: 'delivered',
    bytes: 10,
    record,
    ms: 5,
  });
  metrics.onPass(pass(true));
  metrics.onPass(pass(false));
  await send(target);
  fail.now = true;
  await assert.rejects(send(target));
  stop();
  const text = await metrics.render();
  for (const series of OLD_SERIES) assert.ok(text.includes(series), `${series} is exported`);
  assert.match(text, /^postbote_messages_fetched_total\{mailbox="info"\} 2$/m);
  assert.match(text, /^postbote_fetched_bytes_total\{mailbox="info"\} 2468$/m);
  assert.match(text, /^postbote_session_duration_seconds_count\{mailbox="info"\} 2$/m);
  assert.match(text, /^postbote_target_transaction_seconds_count\{result="ok"\} 1$/m);
  assert.match(text, /^postbote_target_transaction_seconds_count\{result="error"\} 1$/m);
  assert.match(text, /^postbote_messages_in_state\{state="deferred"\} 2$/m);
  assert.match(text, /^postbote_target_up -1$/m, 'a fake target nobody set the health of');
  assert.match(text, /^postbote_mailbox_failing\{mailbox="info"\} 1$/m);
  // prom-client's standard metrics, on this instance's own registry
  assert.match(text, /^process_cpu_user_seconds_total /m);
  assert.match(text, /^nodejs_heap_size_used_bytes /m);
  assert.match(metrics.contentType, /^text\/plain; version=0\.0\.4/);
});

test('two instances in one process keep their own counts; a removed recorder records nothing', async () => {
  const target = fakeTarget({ now: false });
  const a = new Metrics(sources(target));
  const b = new Metrics(sources(target));
  const stopA = a.watchTarget(target);
  const stopB = b.watchTarget(target);
  a.onPass(pass(true));
  await send(target);
  stopA();
  await send(target);
  stopB();
  await send(target);
  const [ta, tb] = [await a.render(), await b.render()];
  assert.match(ta, /^postbote_messages_fetched_total\{mailbox="info"\} 1$/m);
  assert.doesNotMatch(tb, /^postbote_messages_fetched_total\{/m);
  assert.match(ta, /^postbote_target_transaction_seconds_count\{result="ok"\} 1$/m);
  assert.match(tb, /^postbote_target_transaction_seconds_count\{result="ok"\} 2$/m);
});

test('every series carries the instance label postbote_instance (never Prometheus’ own `instance`)', async () => {
  const target = fakeTarget({ now: false });
  const metrics = new Metrics({ ...sources(target), instance: 'mx1' });
  const stop = metrics.watchTarget(target);
  metrics.onPass(pass(false));
  await send(target);
  stop();
  const text = await metrics.render();
  assert.match(text, /^postbote_messages_fetched_total\{mailbox="info",postbote_instance="mx1"\} 1$/m);
  assert.match(text, /^postbote_messages_in_state\{state="deferred",postbote_instance="mx1"\} 2$/m);
  assert.match(text, /^postbote_target_up\{postbote_instance="mx1"\} -1$/m);
  assert.match(text, /^process_cpu_user_seconds_total\{postbote_instance="mx1"\} /m);
  const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  assert.ok(samples.length > 50, `${samples.length} samples`);
  for (const line of samples) assert.match(line, /postbote_instance="mx1"/, line);
  assert.doesNotMatch(text, /[{,]instance="/);
});
