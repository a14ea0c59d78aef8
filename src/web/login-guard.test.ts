import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LOCKOUT_MS, LoginGuard, MAX_LOGIN_FAILURES, MAX_TRACKED_NAMES } from './login-guard.js';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

function fail(guard: LoginGuard, user: string, times = 1): void {
  for (let i = 0; i < times; i++) guard.failed(user);
}

describe('LoginGuard: the lockout table', () => {
  test('locks a user after MAX_LOGIN_FAILURES failures, for LOCKOUT_MS', () => {
    const c = clock();
    const guard = new LoginGuard({ users: ['admin'], now: c.now });
    fail(guard, 'admin', MAX_LOGIN_FAILURES - 1);
    assert.equal(guard.lockedFor('admin'), 0);
    fail(guard, 'Admin');
    assert.equal(guard.lockedFor('ADMIN'), LOCKOUT_MS, 'user names compare without case');
    c.t += LOCKOUT_MS;
    assert.equal(guard.lockedFor('admin'), 0);
  });

  test('an unknown name is locked just like a real one, so the reply does not tell which exist', () => {
    const guard = new LoginGuard({ users: ['admin'], now: clock().now });
    fail(guard, 'nobody', MAX_LOGIN_FAILURES);
    assert.equal(guard.lockedFor('nobody'), LOCKOUT_MS);
  });

  test('failures older than LOCKOUT_MS are forgotten, and their entries go', () => {
    const c = clock();
    const guard = new LoginGuard({ users: ['admin'], now: c.now });
    fail(guard, 'admin', MAX_LOGIN_FAILURES - 1);
    fail(guard, 'someone', 2);
    c.t += LOCKOUT_MS;
    fail(guard, 'admin');
    assert.equal(guard.lockedFor('admin'), 0, 'one failure after a quiet quarter hour does not lock');
    fail(guard, 'another');
    assert.equal(guard.size, 2, 'the stale entry of "someone" was swept');
  });

  test(`5,000 distinct names keep the table at ${MAX_TRACKED_NAMES} entries, whatever their length`, () => {
    const c = clock();
    const guard = new LoginGuard({ users: ['admin'], now: c.now });
    for (let i = 0; i < 5_000; i++) {
      c.t += 10;
      fail(guard, `${i}-${'x'.repeat(60_000)}`);
      assert.ok(guard.size <= MAX_TRACKED_NAMES, `${guard.size} entries after ${i + 1} names`);
    }
    assert.equal(guard.size, MAX_TRACKED_NAMES);
    assert.ok(guard.keyBytes() <= MAX_TRACKED_NAMES * 64, `${guard.keyBytes()} bytes of keys`);
  });

  test('a flood of other names never evicts the lock of a configured user', () => {
    const c = clock();
    const guard = new LoginGuard({ users: ['admin'], now: c.now });
    fail(guard, 'admin', MAX_LOGIN_FAILURES);
    for (let i = 0; i < MAX_TRACKED_NAMES * 3; i++) fail(guard, `flood-${i}`, MAX_LOGIN_FAILURES);
    assert.equal(guard.lockedFor('admin'), LOCKOUT_MS);
    assert.equal(guard.lockedFor(`flood-${MAX_TRACKED_NAMES * 3 - 1}`), LOCKOUT_MS, 'the newest stay locked');
  });

  test('a success clears the user’s failures', () => {
    const guard = new LoginGuard({ users: ['admin'], now: clock().now });
    fail(guard, 'admin', MAX_LOGIN_FAILURES - 1);
    guard.succeeded('admin');
    fail(guard, 'admin', MAX_LOGIN_FAILURES - 1);
    assert.equal(guard.lockedFor('admin'), 0);
  });
});
