import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { KeyedLock } from './keyed-lock.js';

test('holders of one key take turns in order; other keys do not wait; the map empties', async () => {
  const lock = new KeyedLock();
  const events: string[] = [];
  const hold = async (key: string, name: string) => {
    const release = await lock.acquire(key);
    events.push(`${name} in`);
    await tick();
    await tick();
    events.push(`${name} out`);
    release();
    release(); // a second call changes nothing
  };
  await Promise.all([hold('a', 'a1'), hold('a', 'a2'), hold('b', 'b1'), hold('a', 'a3')]);
  const a = events.filter((e) => e.startsWith('a'));
  assert.deepEqual(a, ['a1 in', 'a1 out', 'a2 in', 'a2 out', 'a3 in', 'a3 out']);
  assert.ok(events.indexOf('b1 in') < events.indexOf('a1 out'), 'b does not wait for a');
  assert.equal(lock.size, 0);
});

test('a holder that fails and releases in finally lets the next one in', async () => {
  const lock = new KeyedLock();
  const first = (async () => {
    const release = await lock.acquire('k');
    try {
      throw new Error('boom');
    } finally {
      release();
    }
  })();
  await assert.rejects(first, /boom/);
  const release = await lock.acquire('k');
  release();
  assert.equal(lock.size, 0);
});
