// The shared web tables keep the in-memory versions' bounds: sessions expire and are capped at
// MAX_SESSIONS (oldest first), a lockout ends LOCKOUT_MS after the last failure, and names that are not
// configured users are capped without ever pushing out a configured user's lock.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { postgresUnavailable } from '../../test/support/postgres.js';
import { sharedCluster } from '../../test/support/store-backends.js';
import { MAX_SESSIONS } from '../web/auth.js';
import { LOCKOUT_MS, MAX_LOGIN_FAILURES, MAX_TRACKED_NAMES } from '../web/login-guard.js';
import { PostgresStore } from './postgres.js';
import { PgLoginLockout, PgSessions } from './postgres-web.js';

describe('the shared web tables', { skip: postgresUnavailable() }, () => {
  async function fresh(): Promise<PostgresStore> {
    const store = new PostgresStore(await (await sharedCluster()).createDatabase('webt'));
    await store.migrate();
    return store;
  }
  const count = async (store: PostgresStore, table: string) =>
    Number((await store.pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

  test(`sessions expire, and a login loop keeps the table at ${MAX_SESSIONS} (oldest go first)`, async () => {
    const store = await fresh();
    try {
      const clock = { t: 1_000_000 };
      const sessions = new PgSessions(store.pool, 60_000, () => clock.t);
      const first = await sessions.create('admin');
      assert.equal((await sessions.get(first.id))?.user, 'admin');
      clock.t += 60_000;
      assert.equal(await sessions.get(first.id), undefined, 'expired');
      const ids: string[] = [];
      for (let i = 0; i < MAX_SESSIONS + 20; i++) {
        clock.t += 1;
        ids.push((await sessions.create(`u${i}`)).id);
      }
      assert.equal(await count(store, 'web_sessions'), MAX_SESSIONS, 'the expired one went too');
      assert.equal(await sessions.get(ids[0]), undefined, 'the oldest was dropped');
      assert.equal((await sessions.get(ids.at(-1)))?.user, `u${MAX_SESSIONS + 19}`);
    } finally {
      await store.close();
    }
  });

  test('a lock ends LOCKOUT_MS after the last failure; unknown names are capped, a user’s lock stays', async () => {
    const store = await fresh();
    try {
      const clock = { t: 5_000_000 };
      const guard = new PgLoginLockout(store.pool, ['admin'], () => clock.t);
      for (let i = 0; i < MAX_LOGIN_FAILURES - 1; i++) await guard.failed('admin');
      assert.equal(await guard.lockedFor('admin'), 0);
      await guard.failed('ADMIN');
      assert.equal(await guard.lockedFor('Admin'), LOCKOUT_MS, 'names compare without case');
      for (let i = 0; i < MAX_TRACKED_NAMES + 50; i++) {
        clock.t += 1;
        await guard.failed(`flood-${i}`);
      }
      assert.equal(await guard.size(), MAX_TRACKED_NAMES + 1, 'the cap plus the configured user');
      assert.ok((await guard.lockedFor('admin')) > 0, 'the flood did not evict the admin’s lock');
      clock.t += LOCKOUT_MS;
      assert.equal(await guard.lockedFor('admin'), 0);
      await guard.failed('admin');
      assert.equal(await guard.lockedFor('admin'), 0, 'one failure after a quiet quarter hour does not lock');
      await guard.succeeded('admin');
      await guard.failed('someone');
      assert.equal(await guard.size(), 1, 'stale names were swept, the admin’s row cleared');
    } finally {
      await store.close();
    }
  });
});
