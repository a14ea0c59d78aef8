// A PostgreSQL state end to end: the fault world (scriptable POP3 provider and SMTP receiver) with its
// records in a private PostgreSQL cluster and its bytes in a local spool folder.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createRuntime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config/index.js';
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

  test('two instances start on one database, each under its own name; a mailbox one holds is skipped by the other, naming it', async () => {
    const url = await cluster.createDatabase('e2e');
    const tmp = (await import('node:os')).tmpdir();
    const config = (spool: string, instance: string) =>
      parseConfig(
        `state: ${url}\nspool: ${spool}\ninstance: ${instance}\ntarget: { host: 127.0.0.1, port: 25 }\nmailboxes: []\n`,
        { file: 'p.yaml', baseDir: tmp, env: {} },
      );
    const first = await createRuntime(config(`${tmp}/pb-spool-a-${process.pid}`, 'mx1'), silentLogger(), {
      command: 'postbote run',
      joins: true,
    });
    const second = await createRuntime(config(`${tmp}/pb-spool-b-${process.pid}`, 'mx2'), silentLogger(), {
      command: 'postbote fetch',
    });
    try {
      assert.match(first.instance ?? '', /^mx1#[0-9a-f]{8}$/);
      assert.match(second.instance ?? '', /^mx2#[0-9a-f]{8}$/);
      const held = await first.leases.mayRun('info', true);
      assert.ok('lease' in held);
      assert.deepEqual(await second.leases.mayRun('info', true), { heldBy: first.instance });
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      const { rows } = await admin.query('SELECT id, label FROM instances');
      await admin.end();
      assert.deepEqual(rows, [{ id: first.instance, label: 'mx1' }], 'fetch does not join the instances');
    } finally {
      await first.close();
      await second.close();
    }
    // Closed: its lease went back at once, and it left the instances.
    const next = await createRuntime(config(`${tmp}/pb-spool-b-${process.pid}`, 'mx2'), silentLogger());
    try {
      assert.ok('lease' in (await next.leases.mayRun('info', true)));
    } finally {
      await next.close();
    }
  });
});
