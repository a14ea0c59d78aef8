// The shared bytes tier against a private PostgreSQL: a 20 MB message there and back with bounded
// memory, corruption never used, a damaged local file never replicated, and the bytes dropped with
// the record's need (delivered, deleted, discarded) in the same transaction.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pg from 'pg';
import { postgresUnavailable } from '../../test/support/postgres.js';
import { sharedCluster } from '../../test/support/store-backends.js';
import { Spool } from '../spool/spool.js';
import { PostgresStore } from './postgres.js';
import { CHUNK_SIZE, PgSharedBytes, rechunk } from './postgres-blobs.js';
import type { NewMessage } from './types.js';

const skip = postgresUnavailable();
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function spoolDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'postbote-blobs-'));
  dirs.push(dir);
  return dir;
}

/** The garbage collector, to measure what stays reachable (node runs without --expose-gc here). */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** `size` deterministic bytes, made on the fly in 64 KiB pieces: never in memory at once. */
function generated(size: number): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < size; at += 65_536) {
        const n = Math.min(65_536, size - at);
        const piece = Buffer.alloc(n);
        for (let i = 0; i < n; i += 4) piece.writeUInt32LE(((at + i) * 2_654_435_761) >>> 0, i);
        yield piece;
      }
    })(),
    { objectMode: false },
  );
}

async function digest(source: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of source) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function fresh(): Promise<{ url: string; store: PostgresStore; shared: PgSharedBytes }> {
  const url = await (await sharedCluster()).createDatabase('blobs');
  const store = new PostgresStore(url);
  await store.migrate();
  return { url, store, shared: new PgSharedBytes(url) };
}

const msg = (key: string, size: number, sha256: string): NewMessage => ({
  mailbox: 'info',
  uid: `u-${key}`,
  spoolKey: key,
  size,
  sha256,
  messageId: null,
  sender: 'a@b.c',
  subject: 's',
  recipients: [{ address: 'r@corp.local', status: 'pending', reason: 'fixed' }],
  fetchedAt: 1000,
});

test('rechunk cuts any stream into pieces of exactly the chunk size, the last one shorter', async () => {
  for (const [sizes, size, want] of [
    [[3, 3, 3], 4, [4, 4, 1]],
    [[10], 4, [4, 4, 2]],
    [[1, 1, 1, 1], 4, [4]],
    [[], 4, []],
  ] as const) {
    const parts = [...sizes].map((n, i) => Buffer.alloc(n, i));
    const out: Buffer[] = [];
    for await (const c of rechunk(Readable.from(parts), size)) out.push(c);
    assert.deepEqual(
      out.map((c) => c.length),
      want,
    );
    assert.deepEqual(Buffer.concat(out), Buffer.concat(parts));
  }
});

describe('message bytes in PostgreSQL', { skip }, () => {
  test('a 20 MB message goes there and back intact, streamed: memory grows far less than its size', async () => {
    const { store, shared } = await fresh();
    const size = 20 * 1024 * 1024;
    const sha256 = await digest(generated(size));
    // What stays reachable, not garbage waiting for the collector: sampled right after a collection.
    const gc = collector();
    gc();
    const live = () => {
      gc();
      gc(); // external buffers are freed by the second collection after they became unreachable
      const m = process.memoryUsage();
      return m.arrayBuffers + m.heapUsed;
    };
    const base = live();
    let peak = 0;
    const sample = setInterval(() => {
      peak = Math.max(peak, live() - base);
    }, 20);
    try {
      await shared.put('big-1', size, sha256, () => generated(size));
      const spool = new Spool(await spoolDir(), shared);
      assert.equal(await shared.fetchInto('big-1', spool, { size, sha256 }), true);
      assert.equal(await spool.intact('big-1', size, sha256), true);
    } finally {
      clearInterval(sample);
      await shared.close();
      await store.close();
    }
    assert.ok(peak < 4 * 1024 * 1024, `peak ${Math.round(peak / 1024)} KiB live for a 20 MiB message`);
  });

  test('a shared copy whose bytes no longer match its digest is never used; nor one that is not the record’s', async () => {
    const { url, store, shared } = await fresh();
    const data = Buffer.alloc(CHUNK_SIZE + 1000, 'a');
    const sha256 = createHash('sha256').update(data).digest('hex');
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      await shared.put('k1', data.length, sha256, () => Readable.from([data]));
      const spool = new Spool(await spoolDir(), shared);
      assert.equal(
        await shared.fetchInto('k1', spool, { size: data.length, sha256: 'f'.repeat(64) }),
        false,
        'another message’s digest',
      );
      await db.query(
        "UPDATE message_chunks SET data = overlay(data placing '\\x42'::bytea from 10 for 1) WHERE key = 'k1' AND seq = 1",
      );
      assert.equal(await shared.fetchInto('k1', spool, { size: data.length, sha256 }), false, 'damaged');
      assert.deepEqual(await readdir(join(spool.dir, 'msg')), [], 'nothing kept in the spool');
      assert.deepEqual(await readdir(join(spool.dir, 'tmp')), []);
      const ensured = await spool.ensure('k1', data.length, sha256);
      assert.equal(ensured.ok, false);
    } finally {
      await db.end();
      await shared.close();
      await store.close();
    }
  });

  test('a local file that does not match its record is refused, not replicated; a put without a local copy of a shared key succeeds', async () => {
    const { store, shared } = await fresh();
    const data = Buffer.from('From: a@b.c\r\n\r\nbody\r\n');
    const sha256 = createHash('sha256').update(data).digest('hex');
    try {
      await assert.rejects(
        shared.put('k2', data.length, sha256, () =>
          Readable.from([Buffer.from('From: a@b.c\r\n\r\nbodX\r\n')]),
        ),
        /does not match its record/,
      );
      assert.deepEqual(await shared.keys(), []);
      await shared.put('k2', data.length, sha256, () => Readable.from([data]));
      await shared.put('k2', data.length, sha256, () => {
        throw new Error('ENOENT: no local copy');
      });
      await assert.rejects(
        shared.put('k3', data.length, sha256, () => {
          throw new Error('ENOENT: no local copy');
        }),
        /ENOENT/,
      );
      assert.deepEqual(await shared.keys(), ['k2']);
    } finally {
      await shared.close();
      await store.close();
    }
  });

  test('the bytes go with the record’s need: delivered, deleted by an admin, discarded; quarantined keeps them', async () => {
    const { store, shared } = await fresh();
    const data = Buffer.from('From: a@b.c\r\n\r\nbody\r\n');
    const sha256 = createHash('sha256').update(data).digest('hex');
    try {
      const recs = [];
      for (const key of ['d', 'x', 'q', 'r']) {
        recs.push(await store.addSpooled(msg(key, data.length, sha256)));
        await shared.put(key, data.length, sha256, () => Readable.from([data]));
      }
      const [d, x, q, r] = recs as [(typeof recs)[0], (typeof recs)[0], (typeof recs)[0], (typeof recs)[0]];
      const change = (id: number, state: 'delivered' | 'quarantined' | 'deleted', spoolKey: string | null) =>
        store.recordAttempt(
          id,
          {
            state,
            recipients: d.recipients,
            nextAttemptAt: null,
            reason: null,
            spoolKey,
            countsAsAttempt: true,
          },
          { at: 2000, outcome: state, detail: state, recipients: [] },
        );
      await change(d.id, 'delivered', null);
      await change(q.id, 'quarantined', 'q');
      await change(r.id, 'quarantined', 'r');
      await change(r.id, 'deleted', null);
      await store.discard(x.id);
      assert.deepEqual(await shared.keys(), ['q']);
      const spool = new Spool(await spoolDir(), shared);
      assert.deepEqual(await spool.ensure('q', data.length, sha256), { ok: true, from: 'shared' });
      assert.deepEqual(await readFile(spool.path('q')), data);
    } finally {
      await shared.close();
      await store.close();
    }
  });
});
