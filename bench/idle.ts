// The idle scenario: `postbote run` with thousands of configured mailboxes and nothing new, polled on
// a short interval; the CPU the postbote process uses (utime + stime from /proc/PID/stat) over the
// window, as a share of one core.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { CLI, writeConfig } from './postbote.js';
import { cpuSeconds, peakRssMb } from './proc.js';

export interface IdleResult {
  seconds: number;
  cpu: number;
  coreShare: number;
  peakRssMb: number;
  passes: number;
  failedPasses: number;
}

export async function idleRun(opts: {
  dir: string;
  port: number;
  caFile: string;
  users: string[];
  password: string;
  sinkPort: number;
  seconds: number;
  concurrency: number;
}): Promise<IdleResult> {
  const config = writeConfig({
    dir: opts.dir,
    host: '127.0.0.1',
    port: opts.port,
    caFile: opts.caFile,
    boxes: opts.users.map((u) => ({ name: u, user: u, password: opts.password })),
    sinkPort: opts.sinkPort,
    concurrency: opts.concurrency,
    targetConnections: 4,
    interval: '1m',
  });
  const flags = process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...flags, CLI, 'run', '-c', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started = process.hrtime.bigint();
  await delay(opts.seconds * 1000);
  const cpu = cpuSeconds(pid);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rss = peakRssMb(pid);
  child.kill('SIGTERM');
  await exited;
  const db = new Database(path.join(opts.dir, 'state', 'postbote.sqlite'), { readonly: true });
  const passes = db.prepare('SELECT count(*) AS n, sum(error IS NOT NULL) AS failed FROM sessions').get() as {
    n: number;
    failed: number | null;
  };
  db.close();
  return {
    seconds,
    cpu,
    coreShare: cpu / seconds,
    peakRssMb: rss,
    passes: passes.n,
    failedPasses: passes.failed ?? 0,
  };
}
