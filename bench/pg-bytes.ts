// Where the bytes of a message that outlives its pass should live when several instances share a
// PostgreSQL state: measured, not guessed. For the mixed corpus (bench/corpus.ts), each design writes
// every message and reads it back, checked by SHA-256:
//   (a) the local spool only, fsynced as group commit does (what a folder state does today);
//   (b) the local spool plus chunked bytea rows (src/store/postgres-blobs.ts, the shipped code);
//   (c) the local spool plus a large object per message (lo_from_bytea + lo_put in chunks, lo_get back).
// Printed: msgs/s, MB/s, this process's CPU seconds and the PostgreSQL server's.
// Then what each design costs per 100 messages when only the share that outlives its pass is copied.
// Run as root (the private PostgreSQL runs as user postgres): npx tsx bench/pg-bytes.ts [messages] [rounds]
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pg from 'pg';
import { Spool, type SpooledFile } from '../src/spool/spool.js';
import { PostgresStore } from '../src/store/postgres.js';
import { CHUNK_SIZE, PgSharedBytes, rechunk } from '../src/store/postgres-blobs.js';
import { startPostgres } from '../test/support/postgres.js';
import { type BenchMessage, mixedMessages } from './corpus.js';

/** Enough messages that the 4 % of 0.2–2 MB attachments show up (~12), small enough for ~1 min. */
const DEFAULT_MESSAGES = 300;
/** Rounds per design; the median is printed. */
const DEFAULT_ROUNDS = 3;
/** Large objects written and read in the same 256 KiB pieces as the bytea rows: a like-for-like run. */
const LO_CHUNK = CHUNK_SIZE;

interface Row {
  design: string;
  phase: 'write' | 'read';
  seconds: number;
  /** This process (Postbote's side). */
  cpu: number;
  /** The PostgreSQL server: postmaster, its live children, and the children it reaped meanwhile. */
  serverCpu: number;
}

/** USER_HZ, 100 on every mainstream kernel configuration. */
const TICKS_PER_SECOND = 100;
let postmaster = 0;

function ticks(pid: number, reaped: boolean): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // Fields after "(comm) ": state is [0]; utime [11], stime [12], cutime [13], cstime [14].
    return Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0);
  } catch {
    return 0; // exited meanwhile: its time is in the postmaster's cutime
  }
}

/** CPU seconds the PostgreSQL server has used so far (the whole machine is shared: measure only it). */
function serverBusy(): number {
  let total = ticks(postmaster, true);
  for (const task of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const pid = Number(task);
    if (pid === postmaster) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      if (ppid === postmaster) total += ticks(pid, false);
    } catch {
      // gone
    }
  }
  return total / TICKS_PER_SECOND;
}

async function timed(design: string, phase: Row['phase'], fn: () => Promise<void>): Promise<Row> {
  const cpu0 = process.cpuUsage();
  const server0 = serverBusy();
  const t0 = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(cpu0);
  return { design, phase, seconds, cpu: (c.user + c.system) / 1e6, serverCpu: serverBusy() - server0 };
}

async function sha(source: Readable): Promise<string> {
  const h = createHash('sha256');
  for await (const c of source) h.update(c as Buffer);
  return h.digest('hex');
}

/** Spools every message and makes it durable as the pass's group commit does. */
async function spoolAll(spool: Spool, corpus: BenchMessage[]): Promise<SpooledFile[]> {
  const out: SpooledFile[] = [];
  for (const m of corpus) out.push(await spool.write(Readable.from([m.data]), Number.MAX_SAFE_INTEGER));
  await spool.syncAll();
  return out;
}

/** Reads every file back from a fresh Spool (nothing kept in memory), checked. */
async function readLocal(dir: string, files: SpooledFile[]): Promise<void> {
  const spool = new Spool(dir);
  for (const f of files) if ((await sha(spool.open(f.key))) !== f.sha256) throw new Error(`${f.key} damaged`);
}

/**
 * Large objects with the same round-trip economy as the bytea code: a one-chunk message is one
 * autocommit statement (lo_from_bytea and its row), a longer one a transaction with lo_put per
 * further chunk; reads are lo_get per chunk without a transaction, the first with the row lookup.
 */
async function largeObjects(url: string, spool: Spool, files: SpooledFile[], into: string) {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  await pool.query(
    'CREATE TABLE IF NOT EXISTS lo_bench (key TEXT PRIMARY KEY, oid OID NOT NULL, size BIGINT)',
  );
  const first = (db: pg.Pool | pg.PoolClient, f: SpooledFile, chunk: Buffer) =>
    db.query(
      `WITH o AS (SELECT lo_from_bytea(0, $1) AS oid)
       INSERT INTO lo_bench SELECT $2, oid, $3 FROM o RETURNING oid`,
      [chunk, f.key, f.size],
    );
  const write = async () => {
    for (const f of files) {
      if (f.size <= LO_CHUNK) {
        let chunk: Buffer = Buffer.alloc(0);
        for await (const c of rechunk(spool.open(f.key), LO_CHUNK)) chunk = c;
        await first(pool, f, chunk ?? Buffer.alloc(0));
        continue;
      }
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        let oid: number | undefined;
        let at = 0;
        for await (const chunk of rechunk(spool.open(f.key), LO_CHUNK)) {
          if (oid === undefined) oid = (await first(c, f, chunk)).rows[0].oid;
          else await c.query('SELECT lo_put($1, $2, $3)', [oid, at, chunk]);
          at += chunk.length;
        }
        await c.query('COMMIT');
      } finally {
        c.release();
      }
    }
  };
  const read = async () => {
    const target = new Spool(into);
    for (const f of files) {
      const chunks = async function* () {
        const head = (
          await pool.query('SELECT oid, lo_get(oid, 0, $2) AS d FROM lo_bench WHERE key = $1', [
            f.key,
            LO_CHUNK,
          ])
        ).rows[0];
        yield head.d as Buffer;
        for (let at = LO_CHUNK; at < f.size; at += LO_CHUNK)
          yield (await pool.query('SELECT lo_get($1, $2, $3) AS d', [head.oid, at, LO_CHUNK])).rows[0]
            .d as Buffer;
      };
      if (!(await target.materialise(f.key, f, chunks()))) throw new Error(`${f.key} damaged`);
    }
  };
  return { write, read, close: () => pool.end() };
}

function print(rows: Row[], count: number, bytes: number, rounds: number): void {
  const mb = bytes / 1e6;
  console.log(
    `\n${count} messages, ${mb.toFixed(1)} MB (mixed corpus: 2–50 KB mail, ~4 % 0.2–2 MB), median of ${rounds} rounds\n`,
  );
  console.log('design                        phase   msgs/s    MB/s   CPU s  server CPU s');
  for (const r of rows) {
    console.log(
      `${r.design.padEnd(30)}${r.phase.padEnd(6)}${(count / r.seconds).toFixed(0).padStart(8)}${(
        mb / r.seconds
      )
        .toFixed(1)
        .padStart(8)}${r.cpu.toFixed(2).padStart(8)}${r.serverCpu.toFixed(2).padStart(15)}`,
    );
  }
}

/** One run of every design on a fresh database and folder. */
async function oneRound(url: string, dir: string, corpus: BenchMessage[]): Promise<Row[]> {
  const rows: Row[] = [];
  const probe = new pg.Client({ connectionString: url });
  await probe.connect();
  const backend = (await probe.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
  postmaster = Number(readFileSync(`/proc/${backend}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
  await probe.end();
  const store = new PostgresStore(url);
  await store.migrate();
  await store.close();

  // (a) today: the local spool, group-committed.
  let files: SpooledFile[] = [];
  rows.push(
    await timed('(a) local spool + fsync', 'write', async () => {
      files = await spoolAll(new Spool(join(dir, 'a')), corpus);
    }),
  );
  rows.push(await timed('(a) local spool + fsync', 'read', () => readLocal(join(dir, 'a'), files)));

  // (b) spool + chunked bytea (the shipped PgSharedBytes: one transaction per message).
  const shared = new PgSharedBytes(url);
  const b = new Spool(join(dir, 'b'));
  rows.push(
    await timed('(b) spool + bytea chunks', 'write', async () => {
      files = await spoolAll(b, corpus);
      for (const f of files) await shared.put(f.key, f.size, f.sha256, () => b.open(f.key));
    }),
  );
  rows.push(
    await timed('(b) spool + bytea chunks', 'read', async () => {
      const into = new Spool(join(dir, 'b-read'), shared);
      for (const f of files)
        if (!(await shared.fetchInto(f.key, into, f))) throw new Error(`${f.key} damaged`);
    }),
  );
  await shared.close();

  // (c) spool + one large object per message.
  const c = new Spool(join(dir, 'c'));
  let lo: Awaited<ReturnType<typeof largeObjects>> | undefined;
  rows.push(
    await timed('(c) spool + large objects', 'write', async () => {
      files = await spoolAll(c, corpus);
      lo = await largeObjects(url, c, files, join(dir, 'c-read'));
      await lo.write();
    }),
  );
  rows.push(await timed('(c) spool + large objects', 'read', () => lo!.read()));
  await lo?.close();

  return rows;
}

/** Per design and phase, the median of each figure over the rounds (the machine is shared: noisy). */
function medians(all: Row[]): Row[] {
  const out: Row[] = [];
  const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  for (const r of all) {
    if (out.some((o) => o.design === r.design && o.phase === r.phase)) continue;
    const same = all.filter((o) => o.design === r.design && o.phase === r.phase);
    out.push({
      design: r.design,
      phase: r.phase,
      seconds: med(same.map((o) => o.seconds)),
      cpu: med(same.map((o) => o.cpu)),
      serverCpu: med(same.map((o) => o.serverCpu)),
    });
  }
  return out;
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? DEFAULT_MESSAGES);
  const corpus = mixedMessages(1, count);
  const bytes = corpus.reduce((n, m) => n + m.data.length, 0);
  const cluster = await startPostgres('bench', { fsync: true }); // commits cost their WAL flush
  const dir = await mkdtemp(join(tmpdir(), 'postbote-pg-bytes-'));
  const rounds = Number(process.argv[3] ?? DEFAULT_ROUNDS);
  const all: Row[] = [];
  try {
    for (let round = 0; round < rounds; round++)
      all.push(...(await oneRound(await cluster.createDatabase('bench'), join(dir, `r${round}`), corpus)));
    const rows = medians(all);
    print(rows, count, bytes, rounds);
    const write = (design: string) => rows.find((r) => r.design.startsWith(design) && r.phase === 'write')!;
    const local = write('(a)');
    const per = (r: Row) => ({
      ms: (r.seconds * 1000) / count,
      cpuMs: ((r.cpu + r.serverCpu) * 1000) / count,
    });
    console.log('\nper message written: wall ms, CPU ms (Postbote + PostgreSQL)');
    for (const d of ['(a)', '(b)', '(c)']) {
      const p = per(write(d));
      console.log(`  ${d} ${p.ms.toFixed(2)} ms, ${p.cpuMs.toFixed(2)} ms CPU`);
    }
    console.log(
      '\nper 100 messages, when only the share that outlives its pass is copied (wall ms / CPU ms):',
    );
    for (const share of [0, 0.02, 0.1, 1]) {
      const a = per(local);
      const line = ['(b)', '(c)'].map((d) => {
        const x = per(write(d));
        const ms = 100 * (a.ms + share * (x.ms - a.ms));
        const cpu = 100 * (a.cpuMs + share * (x.cpuMs - a.cpuMs));
        return `${d} ${ms.toFixed(0)} / ${cpu.toFixed(0)}`;
      });
      console.log(`  ${String(share * 100).padStart(3)} % copied: ${line.join('   ')}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    await cluster.stop();
  }
}

await main();
