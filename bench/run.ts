// `npm run bench`: Postbote against fetchmail (stock and with TCP_NODELAY) and the physical limit,
// on one private Dovecot and one smtp-sink, each contender in turn, three rounds; prints the table
// and writes bench/RESULTS.md. `--quick` runs smaller corpora once; `--only NAME,…` picks scenarios
// (mixed, defaults, imaps, filters, small, huge, delay, idle, idle-default, idle-push, scale-out,
// pg-cost), `--contenders NAME,…` the contenders, `--idle-seconds N` the idle scenarios' window.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeTempDir } from '../test/support/ports.js';
import {
  allMessages,
  type Bench,
  type Corpus,
  fetchmailRun,
  PASSWORD,
  postboteRun,
  rawRun,
  type Scenario,
} from './contenders.js';
import {
  type BenchMessage,
  hugeMessage,
  mixedMessages,
  smallBoxMessages,
  smallMessages,
  totalBytes,
} from './corpus.js';
import { buildNodelayShim } from './fetchmail.js';
import { filtersScenario } from './filters.js';
import { fetchmailIdleRun, type IdleResult, idleRun } from './idle.js';
import { idlePushRun, PUSH_TARGET_MS } from './idle-push.js';
import { imapsScenario } from './imaps.js';
import { MailStore } from './mailstore.js';
import { pgCostScenario, startBenchPostgres } from './pg-cost.js';
import { Report } from './report.js';
import { scaleOutScenarios, startDelayProxy } from './scale-out.js';
import { Sink } from './sink.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args[args.indexOf('--only') + 1];
const only = args.includes('--only') && onlyArg ? new Set(onlyArg.split(',')) : undefined;
const want = (name: string) => !only || only.has(name);
const cArg = args[args.indexOf('--contenders') + 1];
const contenders = args.includes('--contenders') && cArg ? new Set(cArg.split(',')) : undefined;
/** `--contenders postbote,raw` (names: postbote, fetchmail, nodelay, raw) runs only those, for profiling. */
const runs = (name: string) => !contenders || contenders.has(name);
const partial = args.includes('--rounds');
const idleSecondsArg = args.includes('--idle-seconds')
  ? Number(args[args.indexOf('--idle-seconds') + 1])
  : NaN;

// filterBoxes: the filters scenario takes the first mailboxes of the mixed corpus, 1,000 messages
// either way: with rspamd and clamd on, about 50 messages a second pass here; the figure is a ratio.
const P = quick
  ? {
      rounds: 1,
      boxes: 20,
      perBox: 50,
      small: 1000,
      huge: 200,
      idleBoxes: 2000,
      idleSeconds: 70,
      filterBoxes: 20,
    }
  : {
      rounds: 3,
      boxes: 20,
      perBox: 250,
      small: 5000,
      huge: 200,
      idleBoxes: 2000,
      idleSeconds: 150,
      filterBoxes: 4,
    };
// `--rounds N` overrides the number of rounds (full-size corpora in one round, for profiling).
const roundsArg = args.includes('--rounds') ? Number(args[args.indexOf('--rounds') + 1]) : Number.NaN;
if (Number.isInteger(roundsArg) && roundsArg > 0) P.rounds = roundsArg;
if (Number.isFinite(idleSecondsArg) && idleSecondsArg > 0) P.idleSeconds = idleSecondsArg;
// Out of the box: an office's mailboxes at one provider, fetched with the shipped defaults.
const DEFAULTS = { boxes: 10, perBox: 60 };
// fetchmail moves only the first N messages of each mailbox per run (fetchlimit): stock fetchmail
// needs ~45 ms a message whatever its size, so a full run would take minutes and say nothing more.
const LIMIT = {
  stock: quick ? 5 : 12,
  nodelay: quick ? 20 : 60,
  delayed: quick ? 2 : 3,
  small: quick ? 150 : 300,
};
const DELAY_ONE_WAY_MS = 25;
// The latency-bound scale-out corpus (issue 15): 300 mailboxes of a few small messages each, so that
// the providers' round trips, not bytes or CPU, set the pace; one instance takes ~20–60 s for it.
const SCALE = { boxes: 300, perBox: 10 };

const report = new Report();
const log = (line: string) => console.log(line);

function boxName(i: number): string {
  return `box${String(i + 1).padStart(2, '0')}`;
}

async function main(): Promise<void> {
  const deps = want('filters') ? ['filters'] : [];
  execFileSync('bash', [path.join(import.meta.dirname, 'ensure-deps.sh'), ...deps], { stdio: 'inherit' });
  build();
  const work = await makeTempDir('postbote-bench');
  const idleUsers = Array.from({ length: P.idleBoxes }, (_, i) => `idle${String(i + 1).padStart(4, '0')}`);
  const mixedUsers = Array.from({ length: P.boxes }, (_, i) => boxName(i));
  const wantIdle = want('idle') || want('idle-default');
  const scaleUsers = Array.from({ length: SCALE.boxes }, (_, i) => `scale${String(i + 1).padStart(3, '0')}`);
  log(`== generating the corpus and starting Dovecot (${quick ? 'quick' : 'full'} mode)`);
  const store = await MailStore.start(
    [
      ...mixedUsers,
      'small',
      'huge',
      ...(wantIdle ? idleUsers : []),
      ...(want('scale-out') ? scaleUsers : []),
    ],
    'performance',
  );
  const sink = await Sink.start(path.join('/dev/shm', `postbote-bench-sink-${process.pid}`));
  const shim = buildNodelayShim(path.join(work.path, 'shim'));
  const b: Bench = { store, sink, work: work.path, shim, log };
  const pop3s = store.dovecot.ports.pop3s;
  const s: Scenario = { report, rounds, runs };
  try {
    const mixed: Corpus = { boxes: new Map(mixedUsers.map((u, i) => [u, mixedMessages(i, P.perBox)])) };
    if (['mixed', 'defaults', 'imaps', 'filters', 'delay', 'scale-out', 'pg-cost'].some(want))
      for (const [u, msgs] of mixed.boxes) store.setMessages(u, msgs);
    if (want('mixed')) await mixedScenario(b, mixed, pop3s);
    if (want('defaults')) await defaultsScenario(b, mixed, pop3s);
    if (want('imaps')) {
      const name = `${P.boxes}×${P.perBox} mixed over IMAPS`;
      const imaps = store.dovecot.ports.imaps;
      await imapsScenario(b, s, { name, corpus: mixed, imaps, pop3s, fetchmailLimit: LIMIT.stock });
    }
    if (want('filters')) {
      const corpus: Corpus = { boxes: new Map([...mixed.boxes].slice(0, P.filterBoxes)) };
      const name = `${P.filterBoxes}×${P.perBox} mixed, rspamd + clamd`;
      await filtersScenario(b, s, { name, corpus, pop3s });
    }
    if (want('small')) await smallScenario(b, pop3s);
    if (want('huge')) await hugeScenario(b, pop3s);
    if (want('delay')) await delayScenario(b, mixed, pop3s);
    if (want('idle')) await idleScenario(b, idleUsers, store, 'Dovecot high-performance login');
    if (want('idle-default')) {
      // The same against Dovecot's default login mode (a process per connection): no TLS session resumes.
      const secure = await MailStore.start(idleUsers, 'secure');
      try {
        await idleScenario(b, idleUsers, secure, 'Dovecot default login');
      } finally {
        await secure.stop();
      }
    }
    if (want('idle-push')) await idlePushScenario();
    if (want('pg-cost') || want('scale-out')) {
      const pg = await startBenchPostgres();
      try {
        if (want('pg-cost'))
          await pgCostScenario(b, s, {
            name: `${P.boxes}×${P.perBox} mixed`,
            corpus: mixed,
            port: pop3s,
            pg,
          });
        if (want('scale-out')) {
          const small: Corpus = {
            boxes: new Map(scaleUsers.map((u, i) => [u, smallBoxMessages(i, SCALE.perBox)])),
          };
          for (const [u, msgs] of small.boxes) store.setMessages(u, msgs);
          await scaleOutScenarios(b, s, { small, mixed, pop3s, oneWayMs: DELAY_ONE_WAY_MS, pg });
        }
      } finally {
        await pg.cluster.stop();
      }
    }
  } finally {
    sink.stop();
    await store.stop();
    await work.remove();
  }
  const md = report.markdown(header());
  console.log(`\n${md}`);
  // Only a full run replaces the committed results; a quick or partial one is printed and kept aside.
  const file =
    quick || only || contenders || partial
      ? path.join(os.tmpdir(), 'postbote-bench-RESULTS.md')
      : path.join(import.meta.dirname, 'RESULTS.md');
  writeFileSync(file, `${md}\n${explanation()}`);
  console.log(`written to ${file}`);
}

/** `npm run build`; tsc still emits on type errors, so a tree with someone's work in progress runs. */
function build(): void {
  try {
    execFileSync('npm', ['run', 'build', '--silent'], {
      stdio: 'inherit',
      cwd: path.join(import.meta.dirname, '..'),
    });
  } catch {
    if (!existsSync(path.join(import.meta.dirname, '..', 'dist', 'cli', 'main.js')))
      throw new Error('npm run build failed');
    console.warn('warning: npm run build reported errors; benchmarking the JavaScript it emitted');
  }
}

async function rounds(what: () => Promise<void>): Promise<void> {
  for (let i = 0; i < P.rounds; i++) {
    log(`-- round ${i + 1}/${P.rounds}`);
    await what();
  }
}

async function mixedScenario(b: Bench, mixed: Corpus, port: number): Promise<void> {
  const all = allMessages(mixed);
  const name = `${P.boxes}×${P.perBox} mixed`;
  log(
    `\n== ${name}: ${all.length} messages, ${(totalBytes(all) / 1048576).toFixed(0)} MB, POP3S → smtp-sink`,
  );
  await rounds(async () => {
    if (runs('postbote')) report.add(await postboteRun(b, name, mixed, { port, concurrency: P.boxes }));
    if (runs('fetchmail'))
      report.add(await fetchmailRun(b, name, mixed, { port, limit: LIMIT.stock, nodelay: false }));
    if (runs('nodelay'))
      report.add(await fetchmailRun(b, name, mixed, { port, limit: LIMIT.nodelay, nodelay: true }));
    if (runs('raw')) report.add(await rawRun(b, name, mixed, port));
  });
  const disk = diskRead(all.length, mixed, b.store);
  report.add({ scenario: name, contender: 'read from disk', ...disk });
  report.ratioTarget(name, 'fetchmail', 20);
  report.ratioTarget(name, 'fetchmail+nodelay', 6);
  report.ratioTarget(name, 'raw RETR loop', 0.6);
  report.target({ label: `${name}: Postbote peak RSS`, value: postbotePeakRss(name), max: 128, unit: ' MB' });
}

/** The largest peak RSS of Postbote's runs in a scenario (NaN when it did not run). */
function postbotePeakRss(name: string): number {
  const peaks = report.runs
    .filter((r) => r.scenario === name && r.contender === 'postbote')
    .map((r) => r.peakRssMb);
  return peaks.length > 0 ? Math.max(...peaks) : Number.NaN;
}

/** The corpus read back from the pristine files (page cache warm): what the disk side could give. */
function diskRead(count: number, c: Corpus, store: MailStore) {
  const files = [...c.boxes.keys()].flatMap((u) => store.pristineFiles(u));
  const started = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  let bytes = 0;
  for (const f of files) bytes += readFileSync(f).length;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return {
    messages: count,
    bytes,
    seconds,
    cpu: (cpu.user + cpu.system) / 1e6,
    machineCpu: Number.NaN,
    peakRssMb: Number.NaN,
    verified: `${files.length} files, ${bytes} bytes (page cache)`,
    ok: files.length === count,
  };
}

async function smallScenario(b: Bench, port: number): Promise<void> {
  const msgs = smallMessages(P.small);
  b.store.setMessages('small', msgs);
  const c: Corpus = { boxes: new Map([['small', msgs]]) };
  const name = `1×${P.small} small`;
  log(`\n== ${name}: ${(totalBytes(msgs) / 1048576).toFixed(1)} MB`);
  await rounds(async () => {
    if (runs('postbote')) report.add(await postboteRun(b, name, c, { port, concurrency: 1 }));
    if (runs('fetchmail'))
      report.add(await fetchmailRun(b, name, c, { port, limit: LIMIT.small, nodelay: false }));
    if (runs('nodelay')) report.add(await fetchmailRun(b, name, c, { port, limit: P.small, nodelay: true }));
    if (runs('raw')) report.add(await rawRun(b, name, c, port));
  });
  report.ratioTarget(name, 'fetchmail', 20);
  report.ratioTarget(name, 'fetchmail+nodelay', 2);
}

async function hugeScenario(b: Bench, port: number): Promise<void> {
  const msg = hugeMessage(P.huge * 1024 * 1024);
  b.store.setMessages('huge', [msg]);
  const c: Corpus = { boxes: new Map([['huge', [msg] as BenchMessage[]]]) };
  const name = `1×${P.huge} MB`;
  log(`\n== ${name}`);
  await rounds(async () => {
    if (runs('postbote')) report.add(await postboteRun(b, name, c, { port, concurrency: 1 }));
    if (runs('fetchmail')) report.add(await fetchmailRun(b, name, c, { port, limit: 1, nodelay: false }));
  });
  report.target({ label: `${name}: Postbote peak RSS`, value: postbotePeakRss(name), max: 150, unit: ' MB' });
}

async function delayScenario(b: Bench, mixed: Corpus, port: number): Promise<void> {
  const proxy = await startDelayProxy(port, DELAY_ONE_WAY_MS);
  try {
    const proxyPort = proxy.port;
    const name = `${P.boxes}×${P.perBox} mixed, +${2 * DELAY_ONE_WAY_MS} ms RTT`;
    log(`\n== ${name}`);
    await rounds(async () => {
      if (runs('postbote'))
        report.add(await postboteRun(b, name, mixed, { port: proxyPort, concurrency: P.boxes }));
      if (runs('fetchmail'))
        report.add(
          await fetchmailRun(b, name, mixed, { port: proxyPort, limit: LIMIT.delayed, nodelay: false }),
        );
    });
    report.ratioTarget(name, 'fetchmail', 20);
  } finally {
    proxy.kill();
  }
}

/** IMAP IDLE: new mail at the target within PUSH_TARGET_MS of reaching the server (its own Dovecot). */
async function idlePushScenario(): Promise<void> {
  const count = quick ? 50 : 200;
  log(`\n== idle-push: ${count} messages into a Maildir at random intervals, IMAPS IDLE → SMTP`);
  const r = await idlePushRun(count, log);
  log(`  median ${r.medianMs} ms, 99th percentile ${r.p99Ms} ms, max ${r.maxMs} ms`);
  report.target({
    label: `idle-push: median of ${count}`,
    value: r.medianMs,
    max: PUSH_TARGET_MS,
    unit: ' ms',
  });
  report.target({
    label: `idle-push: 99th percentile of ${count}`,
    value: r.p99Ms,
    max: PUSH_TARGET_MS,
    unit: ' ms',
  });
}

/** The steady figure, or why there is none (a window shorter than start-up plus a round). */
function afterStartUp(r: IdleResult): string {
  return Number.isNaN(r.steadyMsPerPoll)
    ? 'n/a: less than a round of polls'
    : `${r.steadyMsPerPoll.toFixed(2)} ms`;
}

async function idleScenario(b: Bench, users: string[], store: MailStore, mode: string): Promise<void> {
  const name = `${users.length} idle mailboxes, 1 min interval, ${mode}`;
  log(`\n== ${name}, watched for ${P.idleSeconds} s`);
  const setup = {
    dovecot: store.dovecot,
    port: store.dovecot.ports.pop3s,
    users,
    password: PASSWORD,
    sinkPort: b.sink.port,
    seconds: P.idleSeconds,
  };
  const row = (contender: string, r: IdleResult) => {
    log(
      `  ${contender}: ${r.passes} polls (${r.failedPasses} failed), CPU ${r.cpu.toFixed(2)} s ` +
        `(user ${r.user.toFixed(2)}, system ${r.system.toFixed(2)}) in ${r.seconds.toFixed(0)} s = ` +
        `${(r.coreShare * 100).toFixed(2)} % of a core, ${((r.cpu / Math.max(1, r.passes)) * 1000).toFixed(2)} ms per poll ` +
        `(${afterStartUp(r)} after start-up; main thread ${r.mainThreadCpu.toFixed(2)} s)`,
    );
    report.add({
      scenario: name,
      contender,
      messages: 0,
      bytes: 0,
      seconds: r.seconds,
      cpu: r.cpu,
      machineCpu: Number.NaN,
      peakRssMb: r.peakRssMb,
      verified:
        `${r.passes} polls in ${r.seconds.toFixed(0)} s, ${r.failedPasses} failed, ` +
        `${((r.cpu / Math.max(1, r.passes)) * 1000).toFixed(2)} ms CPU per poll (${afterStartUp(r)} after start-up), ` +
        `${(r.coreShare * 100).toFixed(2)} % of a core`,
      ok: r.failedPasses === 0 && r.passes >= users.length,
    });
  };
  if (runs('postbote')) {
    // concurrency 8 and perHostConnections 8: the first round (2,000 logins) fits in the window.
    const r = await idleRun({ ...setup, dir: path.join(b.work, 'idle'), concurrency: 8 });
    row('postbote', r);
    report.target({ label: `${name}: share of one core`, value: r.coreShare * 100, max: 5, unit: ' %' });
  }
  if (runs('fetchmail'))
    row('fetchmail', await fetchmailIdleRun({ ...setup, dir: path.join(b.work, 'idle-fm') }));
}

/** Out of the box: 10 × 60 mixed at one provider, no scheduler or target limits set, the whole command timed. */
async function defaultsScenario(b: Bench, mixed: Corpus, port: number): Promise<void> {
  // The first mailboxes of the mixed corpus, each cut to its first messages (put back afterwards).
  const users = [...mixed.boxes.keys()].slice(0, DEFAULTS.boxes);
  const corpus: Corpus = {
    boxes: new Map(users.map((u) => [u, mixed.boxes.get(u)!.slice(0, DEFAULTS.perBox)])),
  };
  for (const [u, msgs] of corpus.boxes) b.store.setMessages(u, msgs);
  try {
    await defaultsRounds(b, corpus, port);
  } finally {
    for (const u of users) b.store.setMessages(u, mixed.boxes.get(u)!);
  }
}

async function defaultsRounds(b: Bench, corpus: Corpus, port: number): Promise<void> {
  const perBox = Math.min(DEFAULTS.perBox, P.perBox);
  const name = `${DEFAULTS.boxes}×${perBox} mixed, default settings`;
  log(`\n== ${name}`);
  await rounds(async () => {
    if (runs('postbote')) report.add(await postboteRun(b, name, corpus, { port }));
    if (runs('fetchmail'))
      report.add(await fetchmailRun(b, name, corpus, { port, limit: LIMIT.stock, nodelay: false }));
  });
  report.ratioTarget(name, 'fetchmail', 25);
}

function header(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return (
    `# Postbote benchmark results\n\n${new Date().toISOString().slice(0, 16)} UTC, ${quick ? '`--quick`' : 'full run'}, ` +
    `${os.cpus().length} × ${cpu}, Node ${process.version}, ${fetchmailVersion()}. ` +
    `Figures are medians of ${P.rounds} round(s); ratios are Postbote's msgs/s over the contender's, same run.`
  );
}

function fetchmailVersion(): string {
  const out = execFileSync('/usr/bin/fetchmail', ['-V'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  return /fetchmail release ([^+\s]+)/.exec(out)?.[0] ?? 'fetchmail';
}

function explanation(): string {
  return readFileSync(path.join(import.meta.dirname, 'METHOD.md'), 'utf8');
}

await main();
