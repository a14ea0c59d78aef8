// One run of each contender against the shared Dovecot and sink: reseed the mailboxes, clear the sink,
// run, then check what arrived (every message exactly once and intact) and what is left on the server.
import path from 'node:path';
import { type BenchMessage, totalBytes } from './corpus.js';
import { runFetchmail } from './fetchmail.js';
import type { MailStore } from './mailstore.js';
import { measure } from './measure.js';
import { runPostboteFetch, writeConfig } from './postbote.js';
import type { Report, Run } from './report.js';
import { describeVerdict, type Sink } from './sink.js';

export const PASSWORD = 'bench-secret';

export interface Bench {
  store: MailStore;
  sink: Sink;
  work: string;
  shim: string;
  log: (line: string) => void;
}

/** What a scenario module gets from run.ts: where to put its rows, the rounds, which contenders run. */
export interface Scenario {
  report: Report;
  rounds(what: () => Promise<void>): Promise<void>;
  runs(contender: string): boolean;
}

export interface Corpus {
  /** Dovecot user → its messages. */
  boxes: Map<string, BenchMessage[]>;
}

export function allMessages(c: Corpus): BenchMessage[] {
  return [...c.boxes.values()].flat();
}

function reseed(b: Bench, c: Corpus): void {
  for (const user of c.boxes.keys()) b.store.reseed(user);
  b.sink.clear();
}

function left(b: Bench, c: Corpus): number {
  return [...c.boxes.keys()].reduce((n, u) => n + b.store.left(u), 0);
}

function finish(b: Bench, run: Run): Run {
  b.log(
    `  ${run.contender.padEnd(18)} ${run.messages} msgs in ${run.seconds.toFixed(2)} s ` +
      `(${(run.messages / run.seconds).toFixed(1)} msgs/s), CPU ${run.cpu.toFixed(2)} s ` +
      `(whole machine, other load included: ${run.machineCpu.toFixed(2)} s), ` +
      `RSS ${run.peakRssMb.toFixed(0)} MB, ${run.verified}`,
  );
  return run;
}

export async function postboteRun(
  b: Bench,
  scenario: string,
  c: Corpus,
  opts: {
    port: number;
    /** Unset: the shipped scheduler and target defaults (no scheduler limits in the configuration). */
    concurrency?: number;
    protocol?: 'pop3' | 'imap';
    filters?: { rspamdPort: number; clamdPort: number };
    /** The row's name when a scenario runs Postbote more than one way; default 'postbote'. */
    contender?: string;
    /** A postgres:// state (a fresh database) instead of the state folder; the spool stays local. */
    postgresUrl?: string;
  },
): Promise<Run> {
  reseed(b, c);
  const users = [...c.boxes.keys()];
  const config = writeConfig({
    dir: path.join(b.work, 'postbote'),
    host: '127.0.0.1',
    port: opts.port,
    caFile: b.store.dovecot.caFile,
    boxes: users.map((u) => ({ name: u, user: u, password: PASSWORD })),
    sinkPort: b.sink.port,
    ...(opts.concurrency === undefined
      ? {}
      : {
          concurrency: opts.concurrency,
          targetConnections: Math.min(64, Math.max(4, opts.concurrency)),
        }),
    ...(opts.protocol ? { protocol: opts.protocol } : {}),
    ...(opts.filters ? { filters: opts.filters } : {}),
    ...(opts.postgresUrl ? { postgres: { url: opts.postgresUrl, instance: 'bench-fetch' } } : {}),
  });
  // BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles Postbote's runs.
  const m = await runPostboteFetch(config, process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean));
  const expected = allMessages(c);
  const v = b.sink.verify(expected);
  const remaining = left(b, c);
  const ok = v.ok && m.exitCode === 0 && remaining === 0;
  let verified = describeVerdict(v);
  if (remaining !== 0) verified += `; ${remaining} left on the server`;
  if (m.exitCode !== 0) verified += `; exit ${m.exitCode}: ${m.output.slice(0, 300)}`;
  return finish(b, {
    scenario,
    contender: opts.contender ?? 'postbote',
    messages: v.intact,
    bytes: totalBytes(expected),
    seconds: m.seconds,
    cpu: m.cpu,
    machineCpu: m.machineCpu,
    peakRssMb: m.peakRssMb,
    verified,
    ok,
  });
}

export async function fetchmailRun(
  b: Bench,
  scenario: string,
  c: Corpus,
  opts: { port: number; limit: number; nodelay: boolean; proto?: 'pop3' | 'imap'; contender?: string },
): Promise<Run> {
  reseed(b, c);
  const users = [...c.boxes.keys()];
  const m = await runFetchmail({
    home: path.join(b.work, 'fetchmail'),
    host: '127.0.0.1',
    port: opts.port,
    caFile: b.store.dovecot.caFile,
    boxes: users.map((u) => ({ user: u, password: PASSWORD })),
    sinkPort: b.sink.port,
    limit: opts.limit,
    ...(opts.nodelay ? { nodelay: b.shim } : {}),
    ...(opts.proto ? { proto: opts.proto } : {}),
  });
  const expected = allMessages(c);
  const moved = [...c.boxes.values()].reduce((n, msgs) => n + Math.min(opts.limit, msgs.length), 0);
  const v = b.sink.verify(expected, moved);
  const remaining = left(b, c);
  // fetchmail exits 0 when it fetched everything, 13 when it stopped at the fetchlimit.
  const exitOk = m.exitCode === 0 || (m.exitCode === 13 && moved < expected.length);
  const ok = v.ok && exitOk && remaining === expected.length - moved;
  let verified = describeVerdict(v);
  if (remaining !== expected.length - moved)
    verified += `; ${remaining} left (expected ${expected.length - moved})`;
  if (!exitOk) verified += `; exit ${m.exitCode}: ${m.output.slice(-300)}`;
  const bytes = sentBytes(b, expected);
  return finish(b, {
    scenario,
    contender: opts.contender ?? (opts.nodelay ? 'fetchmail+nodelay' : 'fetchmail'),
    messages: v.intact,
    bytes,
    seconds: m.seconds,
    cpu: m.cpu,
    machineCpu: m.machineCpu,
    peakRssMb: m.peakRssMb,
    verified,
    ok,
  });
}

/** Bytes of the messages that reached the sink (fetchmail moves a subset). */
function sentBytes(b: Bench, expected: BenchMessage[]): number {
  const ids = b.sink.receivedIds();
  return expected.reduce((n, m) => n + (ids.has(m.id) ? m.data.length : 0), 0);
}

export async function rawRun(b: Bench, scenario: string, c: Corpus, port: number): Promise<Run> {
  reseed(b, c);
  const users = [...c.boxes.keys()];
  const script = path.join(import.meta.dirname, 'raw-retr.ts');
  const m = await measure([
    process.execPath,
    '--import',
    'tsx',
    script,
    '127.0.0.1',
    String(port),
    b.store.dovecot.caFile,
    PASSWORD,
    ...users,
  ]);
  const expected = allMessages(c);
  const r = JSON.parse(m.output.trim().split('\n').pop() ?? '{}') as {
    messages?: number;
    bytes?: number;
    seconds?: number;
  };
  const ok = m.exitCode === 0 && r.messages === expected.length && (r.bytes ?? 0) >= totalBytes(expected);
  return finish(b, {
    scenario,
    contender: 'raw RETR loop',
    messages: r.messages ?? 0,
    bytes: totalBytes(expected),
    // Its own clock, from connect to the last byte: node and tsx start-up are not fetching.
    seconds: r.seconds ?? m.seconds,
    cpu: m.cpu,
    machineCpu: m.machineCpu,
    peakRssMb: m.peakRssMb,
    verified: ok ? `${r.messages} RETR replies, ${r.bytes} bytes read` : `FAILED: ${m.output.slice(0, 300)}`,
    ok,
  });
}
