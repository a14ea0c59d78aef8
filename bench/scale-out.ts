// Issue 15's figures: several `postbote run` instances sharing one PostgreSQL state against one
// (latency-bound: many small mailboxes behind +50 ms per round trip; CPU-bound: the mixed corpus).
// Every run is verified like the others: each message at the sink exactly once and intact, nothing
// left on the server.
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import { freePort, waitForPort } from '../test/support/ports.js';
import { allMessages, type Bench, type Corpus, PASSWORD, type Scenario } from './contenders.js';
import { totalBytes } from './corpus.js';
import { machineBusy } from './measure.js';
import { type BenchPostgres, median, sql } from './pg-cost.js';
import { CLI, writeConfig } from './postbote.js';
import { cpuSeconds, peakRssMb } from './proc.js';
import type { Run } from './report.js';
import { describeVerdict } from './sink.js';

// Every instance gets the same settings whatever N: N instances have N times the provider sessions,
// which is what scaling out buys when the providers' round trips, not the CPU, set the pace.
const LATENCY_SESSIONS = 10;
// Polled this often for "every message at the sink and every mailbox empty": 1 % of a 10 s run.
const POLL_MS = 100;
// A run that has not moved everything by then failed (a stuck lease, a crash): report, do not hang.
const RUN_TIMEOUT_MS = 15 * 60_000;
// Instances register within seconds of their start; a loaded machine is slower.
const JOIN_TIMEOUT_MS = 60_000;
// cluster-leases.ts beats every lease time / 3; the bench keeps the default lease time of 30 s.
const HEARTBEAT_MS = 30_000 / 3;
// SIGTERM lets passes finish within scheduler.shutdownGrace (30 s); then the instance gets SIGKILL.
const STOP_TIMEOUT_MS = 45_000;

export interface DelayProxy {
  port: number;
  /** CPU seconds the proxy process used so far (one Node process carries every delayed connection). */
  cpu(): number;
  kill(): void;
}

/** The proxy that adds `oneWayMs` in each direction in front of `port`; kill() it when done. */
export async function startDelayProxy(port: number, oneWayMs: number): Promise<DelayProxy> {
  const proxyPort = await freePort();
  const proxy = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(import.meta.dirname, 'delay-proxy.ts'),
      String(proxyPort),
      String(port),
      String(oneWayMs),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitForPort(proxyPort, '127.0.0.1', 15_000);
  return { port: proxyPort, cpu: () => cpuSeconds(proxy.pid!), kill: () => proxy.kill('SIGTERM') };
}

export interface ScaleOutSetup {
  /** Many small mailboxes (`scaleBoxes` users of the shared Dovecot) for the latency-bound runs. */
  small: Corpus;
  /** The mixed corpus for the CPU-bound runs. */
  mixed: Corpus;
  /** Dovecot's POP3S port (the latency-bound runs go through a delay proxy in front of it). */
  pop3s: number;
  oneWayMs: number;
  pg: BenchPostgres;
}

/** Both scale-out scenarios; each adds its rows, its target and notes on where the time went. */
export async function scaleOutScenarios(b: Bench, s: Scenario, o: ScaleOutSetup): Promise<void> {
  const proxy = await startDelayProxy(o.pop3s, o.oneWayMs);
  try {
    const small = allMessages(o.small);
    const name = `${o.small.boxes.size}×${small.length / o.small.boxes.size} small, +${2 * o.oneWayMs} ms RTT, postbote run`;
    b.log(`\n== scale-out, ${name}: 1 against 3 instances on one PostgreSQL state`);
    const run = (n: number, arrival: Arrival) =>
      instancesRun(b, o.pg, name, o.small, {
        n,
        port: proxy.port,
        concurrency: LATENCY_SESSIONS,
        arrival,
        proxy,
      });
    await scaleOut(b, s, name, [1, 3], 2.5, run);
  } finally {
    proxy.kill();
  }
  const mixed = allMessages(o.mixed);
  const name = `${o.mixed.boxes.size}×${mixed.length / o.mixed.boxes.size} mixed, postbote run`;
  b.log(`\n== scale-out, ${name}: 1 against 2 instances on one PostgreSQL state`);
  const run = (n: number, arrival: Arrival) =>
    instancesRun(b, o.pg, name, o.mixed, { n, port: o.pop3s, concurrency: o.mixed.boxes.size, arrival });
  await scaleOut(b, s, name, [1, 2], 1.5, run);
}

/**
 * The rounds with the mail waiting when the instances start (the target, as the issue asks), then once
 * with the instances started first and the mail arriving once they all know each other: the second
 * tells the instances' capacity apart from how they share out a backlog found at start-up.
 */
async function scaleOut(
  b: Bench,
  s: Scenario,
  name: string,
  [base, n]: [number, number],
  min: number,
  run: (n: number, arrival: Arrival) => Promise<Measured>,
): Promise<void> {
  const seen: Measured[] = [];
  await s.rounds(async () => {
    for (const k of [base, n]) {
      const m = await run(k, 'at start');
      seen.push(m);
      s.report.add(m.run);
    }
  });
  const one = s.report.row(name, instances(base));
  const many = s.report.row(name, instances(n));
  s.report.target({
    label: `${name}: ${n} instances ÷ ${base}`,
    value: one && many && one.allOk && many.allOk ? many.msgsPerSec / one.msgsPerSec : 0,
    min,
    unit: '×',
  });
  b.log(`-- once more, the instances started first and the mail arriving while they run`);
  const warm = [await run(base, 'while running'), await run(n, 'while running')];
  for (const m of warm) s.report.add(m.run);
  for (const k of [base, n]) {
    const runs = seen.filter((m) => m.run.contender === instances(k));
    const wall = median(runs.map((m) => m.run.seconds));
    s.report.notes.push(
      `${name}, ${instances(k)} (medians): CPU s of Postbote ${median(runs.map((m) => m.run.cpu)).toFixed(1)}, ` +
        `PostgreSQL ${median(runs.map((m) => m.pgCpu)).toFixed(1)}, Dovecot ${median(runs.map((m) => m.dovecotCpu)).toFixed(1)}` +
        (runs[0]?.proxyCpu !== undefined
          ? `, delay proxy ${median(runs.map((m) => m.proxyCpu!)).toFixed(1)}`
          : '') +
        `; the machine busy ${median(runs.map((m) => m.run.machineCpu)).toFixed(0)} of ${(os.cpus().length * wall).toFixed(0)} core-seconds ` +
        `(other engineers' load included)${k > 1 ? `; delivered by each instance: ${runs.map((m) => m.split.join('/')).join(', ')}` : ''}.`,
    );
  }
  const [w1, wn] = warm;
  if (w1 && wn)
    s.report.notes.push(
      `${name}, instances started first, mail arriving once all ${n} know each other (one run each): ` +
        `${instances(base)} ${(w1.run.messages / w1.run.seconds).toFixed(1)} msgs/s, ${instances(n)} ` +
        `${(wn.run.messages / wn.run.seconds).toFixed(1)} msgs/s, ${n} ÷ ${base} = ` +
        `${(wn.run.messages / wn.run.seconds / (w1.run.messages / w1.run.seconds)).toFixed(2)}×` +
        `${w1.run.ok && wn.run.ok ? '' : ' (a run FAILED verification)'}; delivered by each: ${wn.split.join('/')}.`,
    );
}

function instances(n: number): string {
  return n === 1 ? '1 instance' : `${n} instances`;
}

/** Whether the mail waits when the instances start, or arrives once all of them run and know each other. */
type Arrival = 'at start' | 'while running';

interface Measured {
  run: Run;
  pgCpu: number;
  dovecotCpu: number;
  proxyCpu?: number;
  /** Messages each instance delivered (told apart by the HELO name in the Received field). */
  split: number[];
}

interface Instance {
  child: ChildProcess;
  exited: Promise<number>;
  log: string;
}

/**
 * N `postbote run` instances on a fresh database with the same settings each (own spool, name and
 * HELO), timed from their start (or from the mail's arrival) until the sink holds every message and
 * every mailbox is empty; then stopped (SIGTERM) and verified.
 */
async function instancesRun(
  b: Bench,
  pg: BenchPostgres,
  scenario: string,
  c: Corpus,
  o: { n: number; port: number; concurrency: number; arrival: Arrival; proxy?: DelayProxy },
): Promise<Measured> {
  const users = [...c.boxes.keys()];
  for (const user of users) {
    if (o.arrival === 'at start') b.store.reseed(user);
    else b.store.empty(user);
  }
  b.sink.clear();
  const expected = allMessages(c);
  const url = await pg.cluster.createDatabase('scale');
  const configs = Array.from({ length: o.n }, (_, i) =>
    writeConfig({
      dir: path.join(b.work, 'scale-out', `i${i + 1}`),
      host: '127.0.0.1',
      port: o.port,
      caFile: b.store.dovecot.caFile,
      boxes: users.map((u) => ({ name: u, user: u, password: PASSWORD })),
      sinkPort: b.sink.port,
      concurrency: o.concurrency,
      targetConnections: o.concurrency,
      // Mail waiting at the start: one pass per mailbox is the work, as an office's backlog after an
      // outage (the instances see each other before taking mailboxes: cluster-leases.ts settles at
      // start), and the default interval keeps emptied mailboxes from being polled again and again,
      // which on 2 cores took a third of the CPU from the runs. Mail arriving while they run: polled
      // every 2 s, so that the mail is found soon.
      interval: o.arrival === 'at start' ? '5m' : '2s',
      postgres: { url, instance: `bench${i + 1}` },
      helo: `i${i + 1}.bench.example`,
    }),
  );
  const flags = process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  let started = process.hrtime.bigint();
  const running: Instance[] = configs.map((config) => {
    const log = path.join(path.dirname(config), 'postbote.log');
    const out = openSync(log, 'w');
    const child = spawn(process.execPath, [...flags, CLI, 'run', '-c', config], {
      stdio: ['ignore', out, out],
    });
    const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
    return { child, exited, log };
  });
  let early: number | undefined;
  for (const r of running) r.exited.then((code) => (early ??= code));
  const cpu0 = running.map(() => 0);
  if (o.arrival === 'while running') {
    await joined(url, o.n).catch(async (err) => {
      await Promise.all(running.map((r) => stop(r)));
      throw err;
    });
    // Their CPU so far (start-up, polling empty mailboxes) is not part of moving the mail.
    running.forEach((r, i) => {
      cpu0[i] = cpuSeconds(r.child.pid!);
    });
  }
  const pg0 = pg.cpu();
  const dovecot0 = b.store.cpu();
  const proxy0 = o.proxy?.cpu();
  const busy0 = machineBusy();
  if (o.arrival === 'while running') {
    started = process.hrtime.bigint();
    for (const user of users) b.store.deliver(user);
  }
  let done = false;
  while (!done && early === undefined && Number(process.hrtime.bigint() - started) / 1e6 < RUN_TIMEOUT_MS) {
    await delay(POLL_MS);
    // The sink count first: reading 300 Maildirs every 100 ms would itself load the machine.
    done = b.sink.count() >= expected.length && users.every((u) => b.store.left(u) === 0);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = running.reduce((t, r, i) => t + cpuSeconds(r.child.pid!) - cpu0[i]!, 0);
  const rss = Math.max(...running.map((r) => peakRssMb(r.child.pid!)));
  const machineCpu = machineBusy() - busy0;
  const pgCpu = pg.cpu() - pg0;
  const dovecotCpu = b.store.cpu() - dovecot0;
  const proxyCpu = o.proxy && proxy0 !== undefined ? o.proxy.cpu() - proxy0 : undefined;
  const codes = await Promise.all(running.map((r) => stop(r)));
  // Passes the instances recorded (a mailbox held elsewhere records none): how many found nothing.
  const [passes = 0, empty = 0] = (await sql(
    url,
    'SELECT ARRAY[count(*), count(*) FILTER (WHERE listed = 0)]::int[] FROM sessions',
  )) as number[];
  const v = b.sink.verify(expected);
  const remaining = users.reduce((t, u) => t + b.store.left(u), 0);
  const split = Array.from({ length: o.n }, (_, i) =>
    b.sink.countAdded([new RegExp(`by i${i + 1}\\.bench\\.example \\(Postbote\\)`)]),
  );
  const ok = done && v.ok && remaining === 0 && codes.every((code) => code === 0);
  let verified = describeVerdict(v);
  if (o.n > 1) verified += `; delivered by each: ${split.join(' / ')}`;
  verified += `; ${passes} passes, ${empty} of them on an empty mailbox`;
  if (remaining !== 0) verified += `; ${remaining} left on the server`;
  if (!done) verified += early === undefined ? '; timed out' : `; an instance exited early (${early})`;
  if (codes.some((code) => code !== 0)) verified += `; exit codes ${codes.join(', ')}`;
  const run: Run = {
    scenario,
    contender: o.arrival === 'at start' ? instances(o.n) : `${instances(o.n)}, mail arriving while running`,
    messages: v.intact,
    bytes: totalBytes(expected),
    seconds,
    cpu,
    machineCpu,
    peakRssMb: rss,
    verified,
    ok,
  };
  b.log(
    `  ${run.contender.padEnd(18)} ${run.messages} msgs in ${seconds.toFixed(2)} s ` +
      `(${(run.messages / seconds).toFixed(1)} msgs/s), CPU s: Postbote ${cpu.toFixed(2)}, PostgreSQL ` +
      `${pgCpu.toFixed(2)}, Dovecot ${dovecotCpu.toFixed(2)}${proxyCpu === undefined ? '' : `, proxy ${proxyCpu.toFixed(2)}`}, ` +
      `whole machine ${machineCpu.toFixed(2)} (other load included); RSS ${rss.toFixed(0)} MB, ${verified}`,
  );
  return { run, pgCpu, dovecotCpu, ...(proxyCpu === undefined ? {} : { proxyCpu }), split };
}

/**
 * Until all `n` instances are registered and each has had a heartbeat since (lease time / 3, the
 * default 30 s): from then on every instance knows the others and takes only its share.
 */
async function joined(url: string, n: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const until = Date.now() + JOIN_TIMEOUT_MS;
    for (;;) {
      const live = await client
        .query<{ n: number }>('SELECT count(*)::int AS n FROM instances')
        .then((r) => r.rows[0]?.n ?? 0)
        .catch(() => 0); // the first instance has not created the table yet
      if (live >= n) break;
      if (Date.now() > until) throw new Error(`only ${live} of ${n} instances registered`);
      await delay(POLL_MS);
    }
  } finally {
    await client.end();
  }
  await delay(HEARTBEAT_MS + 1000);
}

/** SIGTERM, then SIGKILL if it does not stop in time; its exit code (-1 when killed). */
async function stop(r: Instance): Promise<number> {
  r.child.kill('SIGTERM');
  const timer = setTimeout(() => r.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  const code = await r.exited;
  clearTimeout(timer);
  return code;
}
