import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { StateLock } from '../app/state-lock.js';
import type { BytesExpectation, MaterialiseTarget, SharedBytes } from './shared-bytes.js';
import { Spool } from './spool.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function newSpool(): Promise<Spool> {
  const d = await mkdtemp(join(tmpdir(), 'postbote-spool-'));
  dirs.push(d);
  return new Spool(d);
}

describe('Spool', () => {
  test('keeps the exact bytes, their hash and the header block', async () => {
    const spool = await newSpool();
    const msg = Buffer.from('Subject: x\r\nTo: a@b.c\r\n\r\nbody\xff line\r\n', 'latin1');
    const f = await spool.write(Readable.from([msg.subarray(0, 5), msg.subarray(5)]), 1000);
    assert.equal(f.size, msg.length);
    await spool.syncAll(); // files what is held in memory
    assert.deepEqual(await readFile(spool.path(f.key)), msg);
    assert.equal(f.header.toString(), 'Subject: x\r\nTo: a@b.c\r\n\r\n');
    assert.deepEqual(await spool.header(f.key), f.header);
    assert.equal(f.sha256.length, 64);
  });

  test('a small message gets a file only when it must last: retain, syncAll, or memory running out', async () => {
    const spool = await newSpool();
    const msg = (n: number) => Buffer.from(`Subject: ${n}\r\n\r\n${'x'.repeat(50_000)}\r\n`);
    const write = (n: number) => spool.write(Readable.from([msg(n)]), 1_000_000);
    const files = async () => (await readdir(join(spool.dir, 'msg'))).sort();

    // Delivered at once: never written, nothing to unlink.
    const delivered = await write(1);
    assert.deepEqual(await files(), []);
    assert.ok(spool.has(delivered.key));
    assert.ok(await spool.intact(delivered.key, delivered.size, delivered.sha256));
    assert.equal(await spool.intact(delivered.key, delivered.size, 'f'.repeat(64)), false);
    assert.deepEqual(Buffer.concat(await spool.openLocal(delivered.key).toArray()), msg(1));
    await spool.remove(delivered.key);
    assert.equal(spool.has(delivered.key), false);

    // Deferred or quarantined: filed before that state is committed.
    const deferred = await write(2);
    await spool.retain(deferred.key, deferred.size, deferred.sha256);
    assert.deepEqual(await files(), [deferred.key]);
    assert.deepEqual(await readFile(spool.path(deferred.key)), msg(2));

    // Before anything leaves the provider, whatever is still held is filed (and fsynced).
    const pending = await write(3);
    assert.deepEqual(await files(), [deferred.key]);
    await spool.syncAll();
    assert.deepEqual(await files(), [deferred.key, pending.key].sort());

    // Beyond the memory bound (4 MiB) the oldest held messages are filed, not dropped.
    const many = [];
    for (let n = 0; n < 100; n++) many.push(await write(100 + n));
    const onDisk = new Set(await files());
    assert.ok(onDisk.has(many[0]!.key), 'the oldest was filed when memory ran out');
    for (const [i, f] of many.entries()) {
      assert.ok(spool.has(f.key), `message ${i} still here`);
      assert.deepEqual(Buffer.concat(await spool.open(f.key).toArray()), msg(100 + i));
    }
  });

  test('takes the content digest while writing: the same for two relay paths, not for another body', async () => {
    const spool = await newSpool();
    const own = 'Message-ID: <m@x.example>\r\nSubject: s\r\n\r\nbody\r\n';
    const write = (m: string) => {
      const b = Buffer.from(m);
      return spool.write(Readable.from([b.subarray(0, 9), b.subarray(9)]), 1000);
    };
    const a = await write(`Received: by mx1\r\nDelivered-To: a@example.com\r\n${own}`);
    const b = await write(`Received: by mx2\r\nDelivered-To: b@example.com\r\n${own}`);
    const c = await write(`Received: by mx1\r\n${own.replace('body', 'other')}`);
    assert.match(a.contentDigest, /^[0-9a-f]{32}$/);
    assert.equal(a.contentDigest, b.contentDigest);
    assert.notEqual(a.contentDigest, c.contentDigest);
    assert.notEqual(a.sha256, b.sha256);
  });

  test('a message larger than one write batch, and many at once, arrive intact', async () => {
    const spool = await newSpool();
    const big = Buffer.alloc(1_000_000 + 7);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const chunks = Array.from({ length: Math.ceil(big.length / 16_384) }, (_, i) =>
      big.subarray(i * 16_384, (i + 1) * 16_384),
    );
    const files = await Promise.all(
      Array.from({ length: 8 }, () => spool.write(Readable.from(chunks), 2_000_000)),
    );
    for (const f of files) {
      assert.equal(f.size, big.length);
      assert.deepEqual(await readFile(spool.path(f.key)), big);
    }
    assert.deepEqual(await readdir(join(spool.dir, 'tmp')), []);
  });

  test('a large message pins none of the chunks it was given while it is written (they die young)', async () => {
    // A chunk held across the writes of a batch outlives a scavenge, is promoted, and its bytes then wait
    // for a full GC: with 20 sessions that was tens of MB of garbage and a malloc heap that stayed grown.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const spool = await newSpool();
    const given: WeakRef<Buffer>[] = [];
    let mostAlive = 0;
    const expected = createHash('sha256');
    async function* source(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 80; i++) {
        await new Promise((r) => setImmediate(r)); // the spool's earlier writes may finish meanwhile
        gc();
        mostAlive = Math.max(mostAlive, given.filter((r) => r.deref()).length);
        const chunk = Buffer.alloc(16_384, 0x61 + (i % 26));
        if (i === 0) chunk.write('Subject: big\r\n\r\n');
        expected.update(chunk);
        given.push(new WeakRef(chunk));
        yield chunk;
      }
    }
    const f = await spool.write(Readable.from(source(), { highWaterMark: 1 }), 2_000_000);
    assert.equal(f.size, 80 * 16_384);
    assert.equal(f.sha256, expected.digest('hex'));
    assert.equal(
      createHash('sha256')
        .update(await readFile(spool.path(f.key)))
        .digest('hex'),
      f.sha256,
    );
    // What a message may be kept as (64 KiB: 4 chunks) and the one the source read ahead; not a batch
    // of 256 KiB at every write (17 before the write buffer).
    assert.ok(mostAlive <= 5, `${mostAlive} of the given chunks were still reachable at once`);
  });

  test('a source that fails mid-message leaves nothing behind', async () => {
    const spool = await newSpool();
    const source = new Readable({
      read() {
        this.push(Buffer.from('Subject: x\r\n'));
        this.destroy(new Error('connection dropped'));
      },
    });
    await assert.rejects(spool.write(source, 1000), /connection dropped/);
    assert.deepEqual(await readdir(join(spool.dir, 'tmp')), []);
    assert.deepEqual(await readdir(join(spool.dir, 'msg')), []);
  });

  test('a message over the limit is refused with MESSAGE_TOO_LARGE', async () => {
    const spool = await newSpool();
    await assert.rejects(spool.write(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), 1000), {
      code: 'MESSAGE_TOO_LARGE',
    });
    assert.deepEqual(await readdir(join(spool.dir, 'msg')), []);
  });

  test('sweep removes files the store does not know and keeps the ones it does', async () => {
    const spool = await newSpool();
    const a = await spool.write(Readable.from([Buffer.from('a')]), 10);
    const b = await spool.write(Readable.from([Buffer.from('b')]), 10);
    await spool.syncAll();
    const lock = await StateLock.acquire(spool.dir, { command: 'test', waitMs: 0 });
    assert.equal(await spool.sweep(new Set([a.key]), lock), 1);
    lock.release();
    assert.deepEqual(await readdir(join(spool.dir, 'msg')), [a.key]);
    await spool.remove(b.key); // already gone: no error
  });

  test('sweep removes nothing without the state lock: another process may not have recorded its file yet', async () => {
    const spool = await newSpool();
    const other = await newSpool();
    const a = await spool.write(Readable.from([Buffer.from('a')]), 10);
    await spool.syncAll();
    const elsewhere = await StateLock.acquire(other.dir, { command: 'test', waitMs: 0 });
    await assert.rejects(spool.sweep(new Set(), elsewhere), { code: 'STATE_IN_USE' });
    elsewhere.release();
    const released = await StateLock.acquire(spool.dir, { command: 'test', waitMs: 0 });
    released.release();
    await assert.rejects(spool.sweep(new Set(), released), { code: 'STATE_IN_USE' });
    assert.deepEqual(await readdir(join(spool.dir, 'msg')), [a.key]);
  });
});

/** An in-memory shared tier: what a PostgreSQL state's PgSharedBytes is to the spool. */
class MemoryShared implements SharedBytes {
  readonly copies = new Map<string, { data: Buffer; sha256: string }>();
  fetches = 0;
  async put(key: string, size: number, sha256: string, source: () => Readable): Promise<void> {
    if (this.copies.has(key)) return;
    const parts: Buffer[] = [];
    for await (const c of source()) parts.push(c as Buffer);
    const data = Buffer.concat(parts);
    if (data.length !== size || createHash('sha256').update(data).digest('hex') !== sha256)
      throw new Error('does not match its record');
    this.copies.set(key, { data, sha256 });
  }
  async fetchInto(key: string, spool: MaterialiseTarget, expect?: BytesExpectation): Promise<boolean> {
    this.fetches++;
    const c = this.copies.get(key);
    if (!c || (expect && expect.sha256 !== c.sha256)) return false;
    return spool.materialise(key, { size: c.data.length, sha256: c.sha256 }, Readable.from([c.data]));
  }
  async remove(key: string): Promise<void> {
    this.copies.delete(key);
  }
  async close(): Promise<void> {}
}

describe('Spool with a shared tier', () => {
  async function pair() {
    const d = await mkdtemp(join(tmpdir(), 'postbote-spool-'));
    dirs.push(d);
    const shared = new MemoryShared();
    return { shared, a: new Spool(join(d, 'a'), shared), b: new Spool(join(d, 'b'), shared) };
  }
  const msg = Buffer.from('Subject: shared\r\n\r\nbody\r\n');

  test('a file this spool lacks is materialised on first read; concurrent readers fetch it once', async () => {
    const { shared, a, b } = await pair();
    const f = await a.write(Readable.from([msg]), 1000);
    await a.retain(f.key, f.size, f.sha256);
    const [h1, h2] = await Promise.all([b.header(f.key), b.header(f.key)]);
    assert.equal(h1.toString(), 'Subject: shared\r\n\r\n');
    assert.deepEqual(h2, h1);
    assert.equal(shared.fetches, 1);
    assert.deepEqual(await readFile(b.path(f.key)), msg);
    assert.deepEqual(await b.ensure(f.key, f.size, f.sha256), { ok: true, from: 'local' });
  });

  test('ensure(): a damaged local file is replaced by the shared copy; one matching no record is refused', async () => {
    const { a } = await pair();
    const f = await a.write(Readable.from([msg]), 1000);
    await a.retain(f.key, f.size, f.sha256);
    await writeFile(a.path(f.key), Buffer.from('Subject: shXred\r\n\r\nbody\r\n'));
    assert.deepEqual(await a.ensure(f.key, f.size, f.sha256), { ok: true, from: 'shared' });
    assert.deepEqual(await readFile(a.path(f.key)), msg);
    assert.equal((await a.ensure(f.key, f.size, 'f'.repeat(64))).ok, false);
  });

  test('materialise() keeps nothing whose size or digest is wrong', async () => {
    const { a } = await pair();
    const sha256 = createHash('sha256').update(msg).digest('hex');
    for (const [chunks, why] of [
      [[msg.subarray(0, 10)], 'short'],
      [[msg, Buffer.from('x')], 'long'],
      [[Buffer.from(msg.toString().replace('body', 'bodX'))], 'wrong bytes'],
    ] as const) {
      assert.equal(await a.materialise('k', { size: msg.length, sha256 }, Readable.from(chunks)), false, why);
    }
    assert.deepEqual(await readdir(join(a.dir, 'msg')), []);
    assert.deepEqual(await readdir(join(a.dir, 'tmp')), []);
  });

  test('bytes neither here nor shared: reading them fails as SPOOL, nothing is made up', async () => {
    const { b } = await pair();
    await assert.rejects(b.header('nowhere-1'), /neither in .* nor in the shared store/);
    assert.equal((await b.ensure('nowhere-1', 10, 'a'.repeat(64))).ok, false);
  });
});
