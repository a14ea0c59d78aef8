// Table tests of the receive connector's session bounds: the connection table, the DATA rate budget
// and the AUTH lockout table (its expiry and its bound).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuthLockout, MAX_LOCKOUT_ENTRIES } from './auth-lockout.js';
import { ConnectionTable } from './connection-limits.js';
import { DataRateBudget } from './data-rate.js';

describe('connection table', () => {
  test('admits up to the per-address and total limits; releasing frees the slot; unknown ids are ignored', () => {
    const table = new ConnectionTable(4, 2);
    const steps: Array<[string, string, string]> = [
      ['a1', '10.0.0.1', 'ok'],
      ['a2', '10.0.0.1', 'ok'],
      ['a3', '10.0.0.1', 'per-ip'],
      ['b1', '10.0.0.2', 'ok'],
      ['c1', '10.0.0.3', 'ok'],
      ['d1', '10.0.0.4', 'total'],
    ];
    for (const [id, ip, expected] of steps) assert.equal(table.admit(id, ip), expected, id);
    assert.equal(table.size, 4);
    table.release('a3'); // refused, never counted
    table.release('nobody');
    assert.equal(table.from('10.0.0.1'), 2);
    table.release('a1');
    assert.equal(table.admit('a4', '10.0.0.1'), 'ok');
    table.release('b1');
    assert.equal(table.from('10.0.0.2'), 0);
    assert.equal(table.admit('d2', '10.0.0.4'), 'ok');
  });
});

describe('DATA rate budget (credit = idle timeout, each byte earns 1/rate s)', () => {
  const cases: Array<[string, Array<[number, number]>, number, number]> = [
    // [name, [at ms, bytes] arrivals, when, expected credit left (ms)]
    ['nothing sent: the credit runs out after the idle timeout', [], 1_000, 0],
    [
      'a steady 1000 B/s keeps the credit full',
      [
        [250, 250],
        [500, 250],
        [750, 250],
        [1000, 250],
      ],
      1_000,
      1_000,
    ],
    [
      'one byte every 200 ms drains it (1 ms earned per 200 ms spent)',
      [
        [200, 1],
        [400, 1],
        [600, 1],
        [800, 1],
      ],
      1_000,
      4,
    ],
    ['a burst cannot bank more than the starting credit', [[0, 1_000_000]], 500, 500],
  ];
  for (const [name, arrivals, when, expected] of cases) {
    test(name, () => {
      const budget = new DataRateBudget(1000, 1000, 0);
      for (const [at, bytes] of arrivals) budget.received(bytes, at);
      assert.equal(budget.remaining(when), expected);
    });
  }

  test('time while the reader paused the stream is not spent', () => {
    const budget = new DataRateBudget(1000, 1000, 0);
    budget.pause(100);
    assert.equal(budget.remaining(50_000), Number.POSITIVE_INFINITY);
    budget.resume(50_000);
    assert.equal(budget.remaining(50_400), 500);
  });
});

describe('AUTH lockout', () => {
  test('locks an address after N failures for the lockout time after its last failure; success clears it', () => {
    let now = 0;
    const lockout = new AuthLockout(3, 60_000, () => now);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => lockout.fail('10.0.0.1').locked),
      [false, false, true, false],
    );
    assert.equal(lockout.isLocked('10.0.0.1'), true);
    assert.equal(lockout.isLocked('10.0.0.2'), false, 'per address');
    now = 59_999;
    assert.equal(lockout.isLocked('10.0.0.1'), true);
    now = 60_000;
    assert.equal(lockout.isLocked('10.0.0.1'), false, 'expired after the lockout time');
    assert.equal(lockout.size, 0, 'an expired entry is dropped when looked at');
    lockout.fail('10.0.0.3');
    lockout.fail('10.0.0.3');
    lockout.succeed('10.0.0.3');
    lockout.fail('10.0.0.3');
    assert.equal(lockout.isLocked('10.0.0.3'), false);
  });

  test('the table never holds more than its bound; expired entries go first, then the oldest', () => {
    let now = 0;
    const lockout = new AuthLockout(2, 60_000, () => now);
    lockout.fail('locked');
    lockout.fail('locked');
    now = 1;
    for (let i = 0; i < MAX_LOCKOUT_ENTRIES + 500; i++) lockout.fail(`10.1.${i >> 8}.${i & 255}`);
    assert.equal(lockout.size, MAX_LOCKOUT_ENTRIES);
    assert.equal(lockout.isLocked('locked'), false, 'the oldest entry was evicted');
    now = 120_000;
    lockout.fail('fresh');
    lockout.fail('fresh');
    assert.equal(lockout.isLocked('fresh'), true);
  });
});
