// What a PostgreSQL state costs against SQLite (`--only pg-cost`): one `postbote fetch` of the mixed
// corpus each way, Postbote's CPU beside the server's, on a private durable PostgreSQL cluster that the
// scale-out scenarios share.
import pg from 'pg';
import { type PostgresCluster, startPostgres } from '../test/support/postgres.js';
import { allMessages, type Bench, type Corpus, postboteRun, type Scenario } from './contenders.js';
import { findProcess, treeCpuSeconds } from './proc.js';

export interface BenchPostgres {
  cluster: PostgresCluster;
  /** CPU seconds the cluster (postmaster, backends, background workers) used since it started. */
  cpu(): number;
}

/**
 * A private PostgreSQL cluster as test/support/postgres.ts starts them, but durable (fsync on, as a
 * production server runs): the SQLite store it is compared with fsyncs too.
 */
export async function startBenchPostgres(): Promise<BenchPostgres> {
  const cluster = await startPostgres('bench', { fsync: true });
  const pid = findProcess(/\/postgres$/, String(cluster.port));
  if (pid === undefined) {
    await cluster.stop();
    throw new Error(`no postgres process listening on port ${cluster.port} found in /proc`);
  }
  return { cluster, cpu: () => treeCpuSeconds(pid) };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * pg-cost: one `postbote fetch` of the same corpus with a SQLite state folder and with a postgres://
 * state (a fresh database each run, the spool local as before), the server's CPU beside Postbote's.
 */
export async function pgCostScenario(
  b: Bench,
  s: Scenario,
  o: { name: string; corpus: Corpus; port: number; pg: BenchPostgres },
): Promise<void> {
  const all = allMessages(o.corpus);
  b.log(
    `\n== pg-cost, ${o.name}: ${all.length} messages, postbote fetch with a SQLite and a PostgreSQL state`,
  );
  const kinds = [
    { contender: PG_DURABLE, synchronousCommit: true },
    // Postbote then makes one synchronous commit before DELE (ARCHITECTURE.md): a crash of the
    // database server loses nothing the provider no longer has, as with SQLite's group commit.
    { contender: PG_ASYNC, synchronousCommit: false },
  ];
  const serverCpu = new Map<string, number[]>();
  const commits = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, v: number) => m.set(k, [...(m.get(k) ?? []), v]);
  await s.rounds(async () => {
    const c0 = o.pg.cpu();
    s.report.add(await postboteRun(b, o.name, o.corpus, { port: o.port, concurrency: o.corpus.boxes.size }));
    push(serverCpu, 'postbote', o.pg.cpu() - c0);
    for (const k of kinds) {
      const url = await o.pg.cluster.createDatabase('pgcost');
      if (!k.synchronousCommit)
        await sql(o.pg.cluster.url('postgres'), `ALTER DATABASE ${dbName(url)} SET synchronous_commit = off`);
      const c1 = o.pg.cpu();
      const run = await postboteRun(b, o.name, o.corpus, {
        port: o.port,
        concurrency: o.corpus.boxes.size,
        contender: k.contender,
        postgresUrl: url,
      });
      const used = o.pg.cpu() - c1;
      // The backends flush their statistics when they end, i.e. when postbote fetch closed its pool.
      const n = Number(
        await sql(url, `SELECT xact_commit FROM pg_stat_database WHERE datname = '${dbName(url)}'`),
      );
      push(serverCpu, k.contender, used);
      push(commits, k.contender, n);
      b.log(`  PostgreSQL server CPU ${used.toFixed(2)} s, ${n} transactions committed`);
      s.report.add(run);
    }
  });
  const sqlite = s.report.row(o.name, 'postbote');
  for (const k of kinds) {
    const row = s.report.row(o.name, k.contender);
    if (!sqlite || !row) continue;
    s.report.notes.push(
      `pg-cost (${o.name}), ${k.contender}: ${row.msgsPerSec.toFixed(0)} msgs/s against SQLite's ` +
        `${sqlite.msgsPerSec.toFixed(0)} (× ${(row.msgsPerSec / sqlite.msgsPerSec).toFixed(2)}); Postbote CPU ` +
        `${row.cpu.toFixed(2)} s against ${sqlite.cpu.toFixed(2)} s, plus ${median(serverCpu.get(k.contender)!).toFixed(2)} s ` +
        `in the PostgreSQL server (fsync on; ${median(serverCpu.get('postbote')!).toFixed(2)} s while idle beside ` +
        `the SQLite run); ${(median(commits.get(k.contender)!) / all.length).toFixed(1)} transactions per message; medians.`,
    );
  }
}

const PG_DURABLE = 'postbote, PostgreSQL state';
const PG_ASYNC = 'postbote, PostgreSQL, synchronous_commit off';

function dbName(url: string): string {
  return new URL(url).pathname.slice(1);
}

/** One statement on its own connection; the first column of the first row. */
export async function sql(url: string, text: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const r = await client.query({ text, rowMode: 'array' });
    return (r.rows[0] as unknown[] | undefined)?.[0];
  } finally {
    await client.end();
  }
}
