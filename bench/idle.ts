// The idle scenario: thousands of configured mailboxes with nothing new, polled every minute, by
// `postbote run` or by stock fetchmail in daemon mode (the peer figure); the CPU the polling process
// uses (utime + stime from /proc/PID/stat) over the window, as a share of one core. Polls are counted
// by Dovecot (its "Login:" log lines), so both contenders are counted the same way.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { Dovecot } from '../test/support/dovecot.js';
import { fetchmailRc } from './fetchmail.js';
import { CLI, writeConfig } from './postbote.js';
import { cpuSplit, peakRssMb, threadCpuSeconds } from './proc.js';

export interface IdleResult {
  seconds: number;
  cpu: number;
  /** User and system CPU seconds apart (system includes the loopback TCP work of both ends). */
  user: number;
  system: number;
  /** CPU seconds of the main thread alone (the rest: libuv's pool, V8's helpers, from /proc/PID/task). */
  mainThreadCpu: number;
  coreShare: number;
  peakRssMb: number;
  /** Logins Dovecot logged for these mailboxes during the window. */
  passes: number;
  /**
   * CPU milliseconds per poll from the end of the first round (every mailbox polled once) to the end of
   * the window: start-up (configuration of 2,000 mailboxes, module loading) left out, which the
   * whole-window share amortises over few polls. NaN when less than a round followed it.
   */
  steadyMsPerPoll: number;
  failedPasses: number;
}

export interface IdleSetup {
  dir: string;
  dovecot: Dovecot;
  port: number;
  users: string[];
  password: string;
  sinkPort: number;
  seconds: number;
  /** Postbote only: scheduler.concurrency and perHostConnections; unset: the shipped defaults. */
  concurrency?: number;
}

/** Dovecot's count of logins of idle mailboxes so far (its log is the one witness both contenders share). */
function logins(dovecot: Dovecot): number {
  return dovecot.log().match(/-login: (?:Info: )?Login: user=<idle\d+>/g)?.length ?? 0;
}

function failedLogins(dovecot: Dovecot): number {
  return dovecot.log().match(/-login: .*auth failed.*user=<idle\d+>/g)?.length ?? 0;
}

// How often the start-up round's end is looked for in Dovecot's log.
const FIRST_ROUND_CHECK_MS = 500;

/** Watches `child` for `seconds`: its CPU, its peak RSS and Dovecot's logins meanwhile; then SIGTERM. */
async function watch(child: ChildProcess, s: IdleSetup): Promise<Omit<IdleResult, 'failedPasses'>> {
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const loginsBefore = logins(s.dovecot);
  const started = process.hrtime.bigint();
  const end = Date.now() + s.seconds * 1000;
  // The steady state starts once every mailbox has had its first poll (start-up: configuration, module
  // loading, first full handshakes); a fixed share of the window would, for a window of about one
  // interval, hold no poll at all and divide the whole CPU by one.
  let early: { user: number; system: number } | undefined;
  let loginsEarly = 0;
  while (Date.now() < end) {
    await delay(Math.min(FIRST_ROUND_CHECK_MS, Math.max(0, end - Date.now())));
    if (early) continue;
    const n = logins(s.dovecot);
    if (n - loginsBefore >= s.users.length) {
      early = cpuSplit(pid);
      loginsEarly = n;
    }
  }
  const cpu = cpuSplit(pid);
  const threads = threadCpuSeconds(pid);
  const loginsLate = logins(s.dovecot);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rss = peakRssMb(pid);
  child.kill('SIGTERM');
  await exited;
  const { user, system } = cpu;
  const steadyPolls = early ? loginsLate - loginsEarly : 0;
  return {
    seconds,
    cpu: user + system,
    user,
    system,
    mainThreadCpu: threads.main,
    coreShare: (user + system) / seconds,
    peakRssMb: rss,
    passes: loginsLate - loginsBefore,
    // Less than a round of polls after start-up is no steady state: no figure (NaN) rather than a wrong one.
    steadyMsPerPoll:
      early && steadyPolls >= s.users.length
        ? ((user + system - early.user - early.system) * 1000) / steadyPolls
        : Number.NaN,
  };
}

export async function idleRun(s: IdleSetup): Promise<IdleResult> {
  const config = writeConfig({
    dir: s.dir,
    host: '127.0.0.1',
    port: s.port,
    caFile: s.dovecot.caFile,
    boxes: s.users.map((u) => ({ name: u, user: u, password: s.password })),
    sinkPort: s.sinkPort,
    ...(s.concurrency === undefined ? {} : { concurrency: s.concurrency }),
    targetConnections: 4,
    interval: '1m',
  });
  const flags = process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...flags, CLI, 'run', '-c', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const r = await watch(child, s);
  const db = new Database(path.join(s.dir, 'state', 'postbote.sqlite'), { readonly: true });
  // Failed passes are always recorded (an idle poll that found nothing new need not be).
  const failed = db.prepare('SELECT count(*) AS n FROM sessions WHERE error IS NOT NULL').get() as {
    n: number;
  };
  db.close();
  return { ...r, failedPasses: failed.n };
}

/**
 * Stock fetchmail as a daemon polling the same mailboxes every minute (`-d 60`, one rc file with a
 * user clause per mailbox, POP3S with the certificate verified, UIDL kept in its id file).
 */
export async function fetchmailIdleRun(s: IdleSetup): Promise<IdleResult> {
  rmSync(s.dir, { recursive: true, force: true });
  mkdirSync(s.dir, { recursive: true });
  const rc = path.join(s.dir, 'fetchmailrc');
  const text = fetchmailRc({
    home: s.dir,
    host: '127.0.0.1',
    port: s.port,
    caFile: s.dovecot.caFile,
    boxes: s.users.map((user) => ({ user, password: s.password })),
    sinkPort: s.sinkPort,
  });
  writeFileSync(rc, text, { mode: 0o600 });
  const env: NodeJS.ProcessEnv = { ...process.env, FETCHMAILHOME: s.dir, LC_ALL: 'C' };
  const argv = ['-d', '60', '-f', rc, '--nodetach', '--nosyslog', '-i', path.join(s.dir, 'ids')];
  // fetchmail says "no mail for …" per mailbox and poll on stdout/stderr: not read, not buffered.
  const child = spawn('/usr/bin/fetchmail', argv, { env, stdio: ['ignore', 'ignore', 'ignore'] });
  const failedBefore = failedLogins(s.dovecot);
  const r = await watch(child, s);
  return { ...r, failedPasses: failedLogins(s.dovecot) - failedBefore };
}
