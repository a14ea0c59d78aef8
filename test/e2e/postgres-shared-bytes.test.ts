// Bytes any instance can reach: two instances (two spool folders) on one PostgreSQL state, one
// provider and one company server. What one instance deferred or quarantined, another delivers
// intact from the database, also once the first one's folder is gone for good; the bytes rows go
// with the delivery.
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { createRuntime } from '../../src/app/runtime.js';
import { queueOp } from '../../src/cli/queue.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { Spool } from '../../src/spool/spool.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { PgSharedBytes } from '../../src/store/postgres-blobs.js';
import type { MessageRecord } from '../../src/store/types.js';
import { release } from '../../src/web/actions.js';
import { type PostgresCluster, postgresUnavailable, startPostgres } from '../support/postgres.js';
import { left, mail, type World, world } from './fault-world.js';

const skip = postgresUnavailable();

/** A world whose passes run as instance `a` or `b`: the same database, each its own spool folder. */
async function twoInstances(cluster: PostgresCluster) {
  const url = await cluster.createDatabase('bytes');
  const as = { name: 'a' };
  const w = await world(
    [mail(1)],
    'deliverTo: [info@corp.local]',
    'none',
    '',
    (tmp) => `state: ${url}\nspool: ${join(tmp, `spool-${as.name}`)}`,
  );
  const spoolOf = (name: string) => join(w.tmp.path, `spool-${name}`, 'spool');
  return { url, w, as, spoolOf };
}

/** The configuration an instance with spool folder `name` runs on (what `queue` and `run` read). */
function configOf(w: World, url: string, name: string) {
  return parseConfig(
    `state: ${url}\nspool: ${join(w.tmp.path, `spool-${name}`)}\n` +
      `target: { host: 127.0.0.1, port: ${w.receiver.port}, tls: none }\n` +
      `mailboxes:\n  - { name: info, host: 127.0.0.1, port: ${w.pop3.port}, tls: none, user: info@example.com, password: x, deliverTo: [info@corp.local] }\n`,
    { file: `${name}.yaml`, baseDir: w.tmp.path },
  );
}

async function withStore<T>(url: string, use: (store: PostgresStore, shared: PgSharedBytes) => Promise<T>) {
  const store = new PostgresStore(url);
  const shared = new PgSharedBytes(url);
  try {
    return await use(store, shared);
  } finally {
    await shared.close();
    await store.close();
  }
}

const delivered = (w: World) => w.receiver.received.map((m) => m.raw.toString('latin1'));

describe('bytes any instance can reach', { skip }, () => {
  let cluster: PostgresCluster;
  before(async () => {
    cluster = await startPostgres('bytes');
  });
  after(() => cluster?.stop());

  test('A quarantines (DELE done), an admin releases, B with an empty spool delivers it intact', async () => {
    const { url, w, as, spoolOf } = await twoInstances(cluster);
    w.rcvHooks.onRcpt = () => ({ code: 550, message: '5.1.1 no such user' });
    const first = await w.fetch();
    assert.equal(first.quarantined, 1);
    assert.equal(left(w), 0, 'removed at the provider once quarantined');
    const held = await withStore(url, async (store, shared) => {
      const [rec] = (await store.searchMessages({ states: ['quarantined'] })).messages as [MessageRecord];
      assert.deepEqual(await shared.keys(), [rec.spoolKey], 'copied to the database before the DELE');
      // The web page or `queue export` on B: the bytes are materialised from the database.
      const viewer = new Spool(spoolOf('b'), shared);
      const chunks: Buffer[] = [];
      for await (const c of viewer.open(rec.spoolKey!)) chunks.push(c as Buffer);
      assert.deepEqual(Buffer.concat(chunks), mail(1));
      await rm(viewer.path(rec.spoolKey!)); // B starts with an empty spool again below
      const scheduler = {
        statuses: () => [{ name: 'info' }],
        busy: () => false,
        requestRun: () => undefined,
      } as unknown as Scheduler;
      await release(
        { store, spool: viewer, scheduler, now: Date.now, logger: silentLogger() },
        rec.id,
        'info@corp.local',
        'admin',
      );
      return rec;
    });

    w.rcvHooks.onRcpt = undefined;
    as.name = 'b';
    const second = await w.fetch();
    assert.equal(second.ok, true, second.error?.describe());
    assert.equal(second.delivered, 1);
    assert.equal(second.fetched, 0);
    assert.equal(w.receiver.received.length, 1);
    assert.ok(delivered(w)[0]!.endsWith(mail(1).toString('latin1')), 'delivered intact');
    await withStore(url, async (store, shared) => {
      const rec = await store.get(held.id);
      assert.equal(rec?.state, 'delivered');
      assert.deepEqual(await shared.keys(), [], 'the bytes rows went with the delivery');
    });
  });

  test('A defers, its spool folder is deleted for good, B retries it from the database, once', async () => {
    const { url, w, as, spoolOf } = await twoInstances(cluster);
    w.rcvHooks.onData = () => ({ code: 451, message: '4.3.0 try again later' });
    const first = await w.fetch();
    assert.equal(first.deferred, 1);
    assert.equal(left(w), 1, 'deferred: still at the provider');
    await rm(spoolOf('a'), { recursive: true });

    w.rcvHooks.onData = undefined;
    as.name = 'b';
    const second = await w.fetch();
    assert.equal(second.ok, true, second.error?.describe());
    assert.equal(second.delivered, 1);
    assert.equal(second.fetched, 0, 'from the database, not fetched again');
    assert.equal(w.receiver.received.length, 1);
    assert.ok(delivered(w)[0]!.endsWith(mail(1).toString('latin1')), 'delivered intact');
    assert.equal(left(w), 0);
    await withStore(url, async (store, shared) => {
      const { messages } = await store.searchMessages({});
      assert.deepEqual(
        messages.map((r) => [r.state, r.attempts]),
        [['delivered', 2]],
        'one record, its history kept',
      );
      assert.deepEqual(await shared.keys(), []);
    });
  });

  test('`queue export` on B: the bytes from the database, a damaged local copy never exported', async () => {
    const { url, w, spoolOf } = await twoInstances(cluster);
    w.rcvHooks.onRcpt = () => ({ code: 550, message: '5.1.1 no such user' });
    assert.equal((await w.fetch()).quarantined, 1);
    const config = configOf(w, url, 'b');
    const exportOnB = async () => {
      const runtime = await createRuntime(config, silentLogger(), { command: 'postbote queue export' });
      const out: Buffer[] = [];
      const err: string[] = [];
      try {
        const [rec] = (await runtime.store.searchMessages({ states: ['quarantined'] })).messages as [
          MessageRecord,
        ];
        const io = {
          out: (d: string | Buffer) => out.push(Buffer.from(d)),
          err: (d: string | Buffer) => err.push(String(d)),
          drain: async () => undefined,
          interactive: false,
          user: 'admin',
        };
        const scheduler = new Scheduler(runtime.ctx, runtime.plans, config.scheduler, silentLogger());
        const code = await queueOp(
          { runtime, scheduler, logger: silentLogger(), service: false },
          { action: 'export', id: rec.id, json: false },
          io,
        );
        return { code, out: Buffer.concat(out), err: err.join(''), key: rec.spoolKey! };
      } finally {
        await runtime.close();
      }
    };
    const first = await exportOnB();
    assert.equal(first.code, 0, first.err);
    assert.deepEqual(first.out, mail(1));
    // Same size, wrong bytes in B's copy: the database's copy is exported (and replaces it).
    const file = join(spoolOf('b'), 'msg', first.key);
    const damaged = await readFile(file);
    damaged.write('XXXX', damaged.length - 8, 'latin1');
    await writeFile(file, damaged);
    const second = await exportOnB();
    assert.equal(second.code, 0, second.err);
    assert.deepEqual(second.out, mail(1));
    assert.deepEqual(await readFile(file), mail(1));
  });

  test('`queue retry` beside the service wakes the instance holding the mailbox, not only its own scheduler', async () => {
    const { url, w } = await twoInstances(cluster);
    w.rcvHooks.onData = () => ({ code: 451, message: '4.3.0 try again later' });
    assert.equal((await w.fetch()).deferred, 1);
    const config = configOf(w, url, 'b');
    const runtime = await createRuntime(config, silentLogger(), { command: 'postbote run' });
    try {
      const [rec] = (await runtime.store.searchMessages({ states: ['deferred'] })).messages as [
        MessageRecord,
      ];
      const woken: string[] = [];
      const ranHere: string[] = [];
      const scheduler = new (class extends Scheduler {
        override requestRun(name: string): void {
          ranHere.push(name);
        }
      })(runtime.ctx, runtime.plans, config.scheduler, silentLogger());
      const err: string[] = [];
      const code = await queueOp(
        {
          runtime,
          scheduler,
          logger: silentLogger(),
          service: true,
          wake: async (mailbox) => {
            woken.push(mailbox);
          },
        },
        { action: 'retry', id: rec.id, json: false },
        {
          out: () => undefined,
          err: (d: string | Buffer) => err.push(String(d)),
          drain: async () => undefined,
          interactive: false,
          user: 'admin',
        },
      );
      assert.equal(code, 0, err.join(''));
      assert.deepEqual(woken, [rec.mailbox]);
      assert.deepEqual(ranHere, [], 'the holder is woken through the database, this scheduler is not asked');
    } finally {
      await runtime.close();
    }
  });

  test('a quarantined message whose copy into the database fails stays at the provider until it is made', async () => {
    const { url, w } = await twoInstances(cluster);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      assert.equal((await w.fetch()).delivered, 1); // the schema is made; mail(1) is delivered
      w.pop3.maildrop('info@example.com').add(mail(2));
      await db.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'disk full (test)'; END $$`);
      await db.query(
        'CREATE TRIGGER refuse BEFORE INSERT ON message_bytes FOR EACH ROW EXECUTE FUNCTION refuse()',
      );
      w.rcvHooks.onRcpt = () => ({ code: 550, message: '5.1.1 no such user' });
      const refused = await w.fetch();
      assert.equal(refused.quarantined, 1);
      assert.equal(left(w), 1, 'no DELE without the shared copy');
      assert.match(refused.error?.describe() ?? '', /disk full \(test\)/);

      await db.query('DROP TRIGGER refuse ON message_bytes');
      const again = await w.fetch();
      assert.equal(again.ok, true, again.error?.describe());
      assert.equal(left(w), 0, 'removed once its copy is in the database');
      await withStore(url, async (store, shared) => {
        const [rec] = (await store.searchMessages({ states: ['quarantined'] })).messages;
        assert.deepEqual(await shared.keys(), [rec?.spoolKey]);
      });
    } finally {
      await db.end();
    }
  });

  test('deferred before the upgrade (bytes only in A’s spool): A copies them at its next start, B can deliver them', async () => {
    const { url, w, as, spoolOf } = await twoInstances(cluster);
    w.rcvHooks.onData = () => ({ code: 451, message: '4.3.0 try again later' });
    assert.equal((await w.fetch()).deferred, 1);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      await db.query('DELETE FROM message_bytes'); // as an older Postbote left it
    } finally {
      await db.end();
    }
    const runtime = await createRuntime(configOf(w, url, 'a'), silentLogger(), { command: 'postbote queue' });
    await runtime.close();
    await rm(spoolOf('a'), { recursive: true });

    w.rcvHooks.onData = undefined;
    as.name = 'b';
    const pass = await w.fetch();
    assert.equal(pass.ok, true, pass.error?.describe());
    assert.equal(pass.delivered, 1);
    assert.equal(pass.fetched, 0, 'from the database');
  });

  test('spooled on A but never attempted (not copied), A gone for good: B fetches it again from the provider, delivered once', async () => {
    const { url, w, as, spoolOf } = await twoInstances(cluster);
    w.rcvHooks.onRcpt = () => ({ code: 550, message: '5.7.1 Client host rejected: Access denied' });
    const first = await w.fetch();
    assert.equal(first.error?.code, 'SMTP_REFUSED_CLIENT');
    assert.equal(left(w), 1);
    await withStore(url, async (store, shared) => {
      assert.deepEqual(
        (await store.searchMessages({})).messages.map((r) => r.state),
        ['spooled'],
      );
      assert.deepEqual(await shared.keys(), [], 'nothing outlived its attempt: not copied');
    });
    await rm(spoolOf('a'), { recursive: true });

    w.rcvHooks.onRcpt = undefined;
    as.name = 'b';
    const second = await w.fetch();
    assert.equal(second.ok, true, second.error?.describe());
    assert.equal(second.fetched, 1, 'fetched again');
    assert.equal(w.receiver.received.length, 1);
    assert.ok(delivered(w)[0]!.endsWith(mail(1).toString('latin1')));
    assert.equal(left(w), 0);
  });
});
