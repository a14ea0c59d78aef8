// What only the PostgreSQL store has: a schema newer than the program, instances migrating together,
// TLS verification of the server, a password that never shows in an error, and mailbox leases with
// fencing tokens (two instances racing, a lapsed lease taken over, a takeover waiting for a fenced write).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { makeCertificate } from '../../test/support/dovecot-config.js';
import { freePort } from '../../test/support/ports.js';
import { postgresUnavailable } from '../../test/support/postgres.js';
import { sharedCluster } from '../../test/support/store-backends.js';
import { isPostboteError } from '../errors.js';
import { PostgresStore } from './postgres.js';
import { checkFence, LeaseLostError } from './postgres-leases.js';
import { PG_MIGRATIONS } from './postgres-migrations.js';

const skip = postgresUnavailable();

describe('the PostgreSQL store', { skip }, () => {
  test('refuses a schema newer than this program, and migrates once when instances start together', async () => {
    const url = await (await sharedCluster()).createDatabase('pgs');
    const stores = [new PostgresStore(url), new PostgresStore(url), new PostgresStore(url)];
    await Promise.all(stores.map((s) => s.migrate()));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT version FROM schema_migrations ORDER BY version');
      assert.deepEqual(
        rows.map((r) => r.version),
        PG_MIGRATIONS.map((m) => m.version),
      );
      await client.query('INSERT INTO schema_migrations VALUES (999, 0)');
    } finally {
      await client.end();
    }
    const newer = new PostgresStore(url);
    await assert.rejects(newer.migrate(), /schema version 999, newer than this Postbote/);
    await Promise.all([...stores, newer].map((s) => s.close()));
  });

  test('a wrong password is a STORE error that names the database with the password masked', async () => {
    const cluster = await sharedCluster();
    const url = cluster.url('postgres').replace(`:${cluster.password}@`, ':wrong-secret-42@');
    const store = new PostgresStore(url);
    await assert.rejects(store.migrate(), (e: unknown) => {
      assert.ok(isPostboteError(e) && e.code === 'STORE', String(e));
      assert.match(e.message, /postgres:\/\/postgres:\*\*\*\*@127\.0\.0\.1/);
      assert.match(e.message, /password authentication failed/);
      assert.doesNotMatch(`${e.message} ${e.where} ${e.hint}`, /wrong-secret-42/);
      return true;
    });
    await store.close();
  });

  test('a database that does not answer is a temporary STORE error; a wrong password a permanent one', async () => {
    const port = await freePort();
    const down = new PostgresStore(`postgres://pb:hunter2-secret@127.0.0.1:${port}/postbote`);
    await assert.rejects(down.migrate(), (e: unknown) => {
      assert.ok(isPostboteError(e) && e.code === 'STORE', String(e));
      assert.equal(e.temporary, true);
      assert.doesNotMatch(e.message, /hunter2-secret/);
      return true;
    });
    await down.close();
    const cluster = await sharedCluster();
    const wrong = new PostgresStore(cluster.url('postgres').replace(`:${cluster.password}@`, ':nope@'));
    await assert.rejects(wrong.migrate(), (e: unknown) => isPostboteError(e) && e.temporary === false);
    await wrong.close();
  });

  test('the password may come from PGPASSWORD or a password file (PGPASSFILE) instead of the URL', async () => {
    const cluster = await sharedCluster();
    const url = cluster.url('postgres', false);
    const saved = { PGPASSWORD: process.env.PGPASSWORD, PGPASSFILE: process.env.PGPASSFILE };
    const dir = await mkdtemp(join(tmpdir(), 'postbote-pgpass-'));
    try {
      process.env.PGPASSWORD = cluster.password;
      const fromEnv = new PostgresStore(url);
      await fromEnv.migrate();
      await fromEnv.close();
      delete process.env.PGPASSWORD;
      const file = join(dir, 'pgpass');
      await writeFile(file, `127.0.0.1:${cluster.port}:*:postgres:${cluster.password}\n`, { mode: 0o600 });
      process.env.PGPASSFILE = file;
      const fromFile = new PostgresStore(url);
      await fromFile.migrate();
      await fromFile.close();
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('sslmode=verify-full checks the server against sslrootcert: its own CA passes, another fails', async () => {
    const cluster = await sharedCluster();
    const url = await cluster.createDatabase('tls');
    const good = new PostgresStore(`${url}?sslmode=verify-full&sslrootcert=${cluster.caFile}`);
    await good.migrate();
    const [row] = (await good.pool.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows;
    assert.equal(row?.ssl, true, 'the connection is encrypted');
    await good.close();

    const dir = await mkdtemp(join(tmpdir(), 'postbote-ca-'));
    try {
      await makeCertificate(join(dir, 'other.crt'), join(dir, 'other.key'));
      const bad = new PostgresStore(`${url}?sslmode=verify-full&sslrootcert=${join(dir, 'other.crt')}`);
      await assert.rejects(
        bad.migrate(),
        (e: unknown) => isPostboteError(e) && e.code === 'STORE' && /certificate/i.test(e.message),
      );
      await bad.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('sync() is a no-op with synchronous_commit on, and one synchronous commit with it off', async () => {
    const cluster = await sharedCluster();
    const sent: string[] = [];
    const query = pg.Client.prototype.query;
    // Watches what the store sends (any client of the pool); restored below.
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const first = args[0] as string | { text: string };
      sent.push(typeof first === 'string' ? first : first.text);
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    try {
      for (const mode of ['on', 'off']) {
        const url = await cluster.createDatabase('sync');
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        await admin.query(
          `ALTER DATABASE ${new URL(url).pathname.slice(1)} SET synchronous_commit = ${mode}`,
        );
        await admin.end();
        const store = new PostgresStore(url);
        await store.migrate();
        sent.length = 0;
        await store.sync();
        await store.close();
        const synchronous = sent.filter((q) => /synchronous_commit = on/.test(q)).length;
        assert.equal(synchronous, mode === 'on' ? 0 : 1, `synchronous_commit ${mode}: ${sent.join('; ')}`);
      }
    } finally {
      pg.Client.prototype.query = query;
    }
  });
});

describe('mailbox leases', { skip }, () => {
  const stores: PostgresStore[] = [];
  after(() => Promise.all(stores.map((s) => s.close())));

  /** Two instances (separate pools) on one fresh database. */
  async function two(): Promise<[PostgresStore, PostgresStore]> {
    const url = await (await sharedCluster()).createDatabase('lease');
    const a = new PostgresStore(url);
    const b = new PostgresStore(url);
    stores.push(a, b);
    await a.migrate();
    await b.migrate();
    return [a, b];
  }

  test('two instances racing for the same mailboxes: exactly one gets each', async () => {
    const [a, b] = await two();
    for (let i = 0; i < 20; i++) {
      const [la, lb] = await Promise.all([
        a.leases.acquire(`m${i}`, 'A', 60_000),
        b.leases.acquire(`m${i}`, 'B', 60_000),
      ]);
      assert.equal([la, lb].filter(Boolean).length, 1, `one owner of m${i}`);
      assert.equal((la ?? lb)?.token, 1);
    }
    // The holder acquiring again is a renewal: same token.
    const mine = (await a.leases.acquire('x', 'A', 60_000))!;
    assert.equal((await a.leases.acquire('x', 'A', 60_000))?.token, mine.token);
  });

  test('a lapsed lease is taken over with a larger token; the old owner can neither renew nor write', async () => {
    const [a, b] = await two();
    const old = (await a.leases.acquire('info', 'A', 150))!;
    assert.equal(await b.leases.acquire('info', 'B', 60_000), undefined, 'held');
    await sleep(300);
    const taken = (await b.leases.acquire('info', 'B', 60_000))!;
    assert.ok(taken.token > old.token, 'the token grows with the new owner');
    assert.equal(await a.leases.renew('info', 'A', old.token, 60_000), undefined);
    assert.equal(await a.leases.release('info', 'A', old.token), false);
    await assert.rejects(
      a.tx((c) => checkFence(c, 'info', old.token)),
      (e: unknown) => e instanceof LeaseLostError && /token 2/.test(e.message),
    );
    await b.tx((c) => checkFence(c, 'info', taken.token));
    // Released, the row keeps its token: the next owner's grows from it.
    assert.equal(await b.leases.release('info', 'B', taken.token), true);
    assert.equal((await a.leases.acquire('info', 'A', 60_000))?.token, taken.token + 1);
  });

  test('a takeover waits for the fenced transaction in progress: no write lands after the new tenure begins', async () => {
    const [a, b] = await two();
    const held = (await a.leases.acquire('info', 'A', 200))!;
    let takenAt = 0;
    let committedAt = 0;
    let takeover: Promise<unknown> | undefined;
    await a.tx(async (c) => {
      await checkFence(c, 'info', held.token);
      await sleep(300); // the lease lapses while this transaction still works
      takeover = b.leases.acquire('info', 'B', 60_000).then((l) => {
        takenAt = Date.now();
        return l;
      });
      await sleep(200);
      assert.equal(takenAt, 0, 'the new owner waits for the fenced transaction');
      committedAt = Date.now();
    });
    const lease = (await takeover) as { token: number } | undefined;
    assert.equal(lease?.token, held.token + 1);
    assert.ok(takenAt >= committedAt);
  });
});
