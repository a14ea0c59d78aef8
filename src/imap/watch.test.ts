import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RECONNECT_BASE_MS, RECONNECT_MAX_MS, reconnectDelay } from './watch.js';

test('reconnect backoff doubles per failure in a row, is capped, and jitters between half and all of it', () => {
  const cases: Array<[failures: number, jitter: number, expected: number]> = [
    [1, 1, 1_000],
    [2, 1, 2_000],
    [3, 1, 4_000],
    [1, 0, 500],
    [3, 0.5, 3_000],
    [9, 1, 256_000],
    [10, 1, 300_000],
    [50, 1, 300_000],
    [50, 0, 150_000],
    [0, 1, 1_000],
  ];
  for (const [failures, jitter, expected] of cases) {
    assert.equal(
      reconnectDelay(failures, RECONNECT_BASE_MS, RECONNECT_MAX_MS, jitter),
      expected,
      `${failures} failures, jitter ${jitter}`,
    );
  }
});
