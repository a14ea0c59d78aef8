// A PostgreSQL state end to end: the fault world (scriptable POP3 provider and SMTP receiver) with its
// records in a private PostgreSQL cluster and its bytes in a local spool folder.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createRuntime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config/index.js';
import { isPostboteError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { type PostgresCluster, postgresUnavailable, startPostgres } from '../support/postgres.js';
import { left, mail, world } from './fault-world.js';

const skip = postgresUnavailable();

describe('a postgres:// state', { skip }, () => {
  let cluster: PostgresCluster;
  before(async () => {
    cluster = await startPostgres('e2e');
  });
  after(() => cluster?.stop());

  test('delivers each message once and removes it at the provider; a second pass changes nothing', async () => {
    const url = await cluster.createDatabase('e2e');
    // The password comes from the environment, as ${VAR} in the URL (parseConfig reads process.env).
    process.env.PB_TEST_DB_PASSWORD = cluster.password;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a ${VAR} reference for the config loader
    const templated = url.replace(`:${cluster.password}@`, ':${PB_TEST_DB_PASSWORD}@');
    const w = await world(
      [mail(1), mail(2)],
      'deliverTo: [info@corp.local]',
      'none',
      '',
      (tmp) => `state: ${templated}?sslmode=verify-full&sslrootcert=${cluster.caFile}\nspool: ${tmp}/spool`,
    );
    const first = await w.fetch();
    assert.equal(first.ok, true, first.error?.describe());
    assert.equal(w.receiver.received.length, 2);
    assert.equal(left(w), 0);
    const again = await w.fetch();
    assert.equal(again.ok, true, again.error?.describe());
    assert.equal(w.receiver.received.length, 2, 'nothing delivered twice');
    const store = new PostgresStore(url);
    try {
      const records = (await store.searchMessages({ mailbox: 'info' })).messages;
      assert.deepEqual(
        records.map((r) => [r.state, r.sourceRemovedAt !== null, r.spoolKey]),
        [
          ['delivered', true, null],
          ['delivered', true, null],
        ],
      );
    } finally {
      await store.close();
    }
  });

  test('451 then 250: deferred in PostgreSQL with its bytes in the local spool, delivered once from it', async () => {
    const url = await cluster.createDatabase('e2e');
    const w = await world(
      [mail(1)],
      'deliverTo: [info@corp.local]',
      'none',
      '',
      (tmp) => `state: ${url}\nspool: ${tmp}/spool`,
    );
    w.rcvHooks.onData = () => ({ code: 451, message: '4.3.0 try again later' });
    const first = await w.fetch();
    assert.equal(first.deferred, 1);
    assert.equal(left(w), 1);
    w.rcvHooks.onData = undefined;
    const second = await w.fetch();
    assert.equal(second.delivered, 1);
    assert.equal(second.fetched, 0, 'delivered from the spool, not fetched again');
    assert.equal(w.receiver.received.length, 1);
    assert.equal(left(w), 0);
  });

  test('a second instance on the same database is refused, naming the first; the password never shows', async () => {
    const url = await cluster.createDatabase('e2e');
    const tmp = (await import('node:os')).tmpdir();
    const config = (spool: string) =>
      parseConfig(`state: ${url}\nspool: ${spool}\ntarget: { host: 127.0.0.1, port: 25 }\nmailboxes: []\n`, {
        file: 'p.yaml',
        baseDir: tmp,
        env: {},
      });
    const first = await createRuntime(config(`${tmp}/pb-spool-a-${process.pid}`), silentLogger(), {
      command: 'postbote run',
    });
    try {
      await assert.rejects(
        createRuntime(config(`${tmp}/pb-spool-b-${process.pid}`), silentLogger(), {
          command: 'postbote fetch',
        }),
        (err: unknown) =>
          isPostboteError(err) &&
          err.code === 'STATE_IN_USE' &&
          /in use by postbote run pid \d+/.test(err.message) &&
          !err.message.includes(cluster.password) &&
          err.message.includes('****'),
      );
    } finally {
      await first.close();
    }
    // Released with the first: the next one starts. If its lock's connection is lost (a database
    // restart, a network cut), another instance may start, so this one refuses to write from then on.
    const next = await createRuntime(config(`${tmp}/pb-spool-b-${process.pid}`), silentLogger(), {
      command: 'postbote run',
    });
    try {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'postbote run pid%'",
      );
      await admin.end();
      for (let i = 0; i < 100 && next.instanceLock?.held; i++) await sleep(20);
      assert.equal(next.instanceLock?.held, false);
      await assert.rejects(
        next.store.recordSession({
          mailbox: 'info',
          startedAt: 1,
          endedAt: 2,
          listed: 0,
          fetched: 0,
          delivered: 0,
          deferred: 0,
          quarantined: 0,
          removed: 0,
          bytes: 0,
          error: null,
        }),
        (err: unknown) => isPostboteError(err) && err.code === 'STATE_IN_USE',
      );
    } finally {
      await next.close();
    }
  });
});
