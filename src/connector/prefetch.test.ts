// The prefetch window: order kept, windows bounded in count and bytes, one RETR at a time without
// pipelining, unwanted messages never requested, unread streams destroyed when the loop stops early.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import type { SourceMessage } from '../source/types.js';
import { prefetched } from './prefetch.js';

function messages(sizes: number[]): SourceMessage[] {
  return sizes.map((size, i) => ({ uid: `u${i + 1}`, num: i + 1, size }));
}

/** A session that records each request (a list of message numbers) and the streams it handed out. */
function fakeSession(pipelining: boolean) {
  const requests: number[][] = [];
  const streams = new Map<number, Readable>();
  const make = (m: SourceMessage) => {
    const s = new Readable({ read() {} });
    streams.set(m.num, s);
    return s;
  };
  return {
    requests,
    streams,
    session: {
      pipelining,
      retrieve(m: SourceMessage) {
        requests.push([m.num]);
        return make(m);
      },
      retrieveMany(ms: SourceMessage[]) {
        requests.push(ms.map((m) => m.num));
        return ms.map(make);
      },
    },
  };
}

describe('prefetched', () => {
  test('pipelining: every message once, in order, requested in windows that keep one in flight', () => {
    const f = fakeSession(true);
    const list = messages(Array.from({ length: 10 }, () => 1000));
    const seen: number[] = [];
    for (const { msg, stream } of prefetched(f.session, list, () => true, { messages: 4, bytes: 1e9 })) {
      assert.ok(stream);
      seen.push(msg.num);
      const requested = f.requests.flat();
      // While a message is handled, the next one has been asked for already (except the last).
      if (msg.num < 10) assert.ok(requested.includes(msg.num + 1), `${msg.num + 1} in flight`);
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(f.requests.flat(), seen, 'each requested once, in order');
    assert.ok(f.requests.every((r) => r.length <= 4));
    assert.ok(f.requests.length < 10, `${f.requests.length} writes for 10 messages`);
  });

  test('the byte bound: a large message is requested alone, small ones share a window', () => {
    const f = fakeSession(true);
    const list = messages([100, 100, 5000, 100, 100]);
    for (const _ of prefetched(f.session, list, () => true, { messages: 32, bytes: 1000 })) {
      // consume
    }
    for (const r of f.requests) {
      const size = r.reduce((n, num) => n + list[num - 1]!.size, 0);
      assert.ok(r.length === 1 || size <= 1000, `window ${r.join(',')} is ${size} bytes`);
    }
    assert.deepEqual(f.requests.flat(), [1, 2, 3, 4, 5]);
  });

  test('without pipelining one RETR at a time, the next only after the previous was handled', () => {
    const f = fakeSession(false);
    const list = messages([10, 10, 10]);
    for (const { msg } of prefetched(f.session, list, () => true)) {
      assert.equal(f.requests.length, msg.num, 'nothing requested ahead');
    }
    assert.deepEqual(f.requests, [[1], [2], [3]]);
  });

  test('unwanted messages come without a stream and are never requested; order is kept', () => {
    const f = fakeSession(true);
    const list = messages([10, 99999, 10, 99999, 10]);
    const got = [...prefetched(f.session, list, (m) => m.size < 1000)].map((x) => [x.msg.num, !!x.stream]);
    assert.deepEqual(got, [
      [1, true],
      [2, false],
      [3, true],
      [4, false],
      [5, true],
    ]);
    assert.deepEqual(f.requests.flat(), [1, 3, 5]);
  });

  test('stopping early destroys the streams requested but not handed out', () => {
    const f = fakeSession(true);
    const list = messages([10, 10, 10, 10, 10]);
    for (const { msg, stream } of prefetched(f.session, list, () => true, { messages: 8, bytes: 1e9 })) {
      assert.equal(msg.num, 1);
      stream?.destroy();
      break;
    }
    assert.equal(f.streams.size, 5);
    for (const [num, s] of f.streams) assert.equal(s.destroyed, true, `stream ${num} destroyed`);
  });

  test('a stream that failed before it was read keeps its error for the reader, without crashing', async () => {
    const f = fakeSession(true);
    const list = messages([10, 10]);
    const it = prefetched(f.session, list, () => true);
    const first = it.next().value!;
    f.streams.get(2)!.destroy(new Error('RETR 2 refused'));
    await new Promise((r) => setImmediate(r)); // the error event fires with nobody reading yet
    first.stream!.destroy();
    const second = it.next().value!;
    await assert.rejects(async () => {
      for await (const _ of second.stream!) {
        // nothing arrives
      }
    }, /RETR 2 refused/);
  });
});
