// Private spam and virus scanners for the filter tests: clamd with custom signatures only (no download),
// spamd offline (-L), rspamd offline with its own override.d; each on free loopback ports, stopped by
// the pid of the process the test started (its process group). Needs root and Debian's packages.
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePorts, makeTempDir, waitForPort } from './ports.js';

// rspamd compiles its TLD data on a first start with an empty DBDIR (~9 s); later starts ~0.6 s.
const RSPAMD_STARTUP_MS = 60_000;
// spamd compiles its rules at start (~0.7 s here); clamd loads two signatures in well under a second.
const STARTUP_MS = 30_000;

/** The EICAR test string (https://www.eicar.org): every scanner's agreed harmless "virus". */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
/** GTUBE, SpamAssassin's and rspamd's agreed spam test string. */
export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';
/** A file of our own that clamd knows only by its MD5 (.hdb), to prove attachments are scanned. */
export const OWN_TEST_FILE = Buffer.from('Postbote filter test payload: not a virus, known by MD5 only.\n');
export const OWN_SIGNATURE = 'Postbote-Test-File';

export function scannersUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (the scanners run as their own users)';
  for (const bin of ['/usr/sbin/clamd', '/usr/sbin/spamd', '/usr/bin/rspamd']) {
    if (!existsSync(bin)) return `${bin} missing: run scripts/ensure-test-deps.sh`;
  }
  return undefined;
}

export interface Daemon {
  port: number;
  /** clamd only: its Unix socket too. */
  socket?: string;
  log(): string;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], logFile: string): ChildProcess {
  // The daemon's own stdout/stderr (start-up errors) go to a file beside its log, shown on failure.
  const fd = openSync(path.join(path.dirname(logFile), 'stdout.log'), 'a');
  try {
    // Its own process group, so stop() reaches the workers it forks.
    return spawn(cmd, args, { stdio: ['ignore', fd, fd], detached: true });
  } finally {
    closeSync(fd);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return;
  }
  // Cancelled once the daemon exits, so a pending timer does not hold the test process open.
  const cancel = new AbortController();
  const timeout = delay(5_000, 'timeout' as const, { signal: cancel.signal }).catch(() => 'exited' as const);
  const first = await Promise.race([exited.then(() => 'exited' as const), timeout]);
  cancel.abort();
  if (first === 'timeout') {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
    await exited;
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Waits for the daemon to listen; if it does not, it is stopped and its folder removed before the error. */
async function started(
  child: ChildProcess,
  port: number,
  timeoutMs: number,
  log: () => string,
  dir: { remove(): Promise<void> },
): Promise<void> {
  const died = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`exited with ${code} before listening:\n${log()}`))),
  );
  try {
    await Promise.race([waitForPort(port, '127.0.0.1', timeoutMs), died]);
  } catch (err) {
    const text = log();
    await stopChild(child);
    await dir.remove();
    throw new Error(`${(err as Error).message}\n${text}`);
  } finally {
    child.removeAllListeners('exit');
  }
}

/**
 * `port`: a given one (a test bringing a scanner "back" where it was configured); `streamMaxLength`:
 * clamd's own notation (default 1M, small for the tests; the bench uses Debian's 25M).
 */
export async function startClamd(options: { port?: number; streamMaxLength?: string } = {}): Promise<Daemon> {
  const dir = await makeTempDir('postbote-clamd-');
  const db = path.join(dir.path, 'db');
  await mkdir(db);
  await mkdir(path.join(dir.path, 'tmp'));
  const hex = Buffer.from(EICAR).toString('hex');
  await writeFile(path.join(db, 'postbote.ndb'), `Eicar-Test-Signature:0:*:${hex}\n`);
  const md5 = createHash('md5').update(OWN_TEST_FILE).digest('hex');
  await writeFile(path.join(db, 'postbote.hdb'), `${md5}:${OWN_TEST_FILE.length}:${OWN_SIGNATURE}\n`);
  const port = options.port ?? ((await freePorts(1)) as [number])[0];
  const socket = path.join(dir.path, 'clamd.sock');
  const logFile = path.join(dir.path, 'clamd.log');
  const conf = path.join(dir.path, 'clamd.conf');
  await writeFile(
    conf,
    [
      'Foreground yes',
      `TCPSocket ${port}`,
      'TCPAddr 127.0.0.1',
      `LocalSocket ${socket}`,
      `DatabaseDirectory ${db}`,
      `TemporaryDirectory ${path.join(dir.path, 'tmp')}`,
      `PidFile ${path.join(dir.path, 'clamd.pid')}`,
      `LogFile ${logFile}`,
      // Small, so a test proves what happens above it without writing much.
      `StreamMaxLength ${options.streamMaxLength ?? '1M'}`,
      '',
    ].join('\n'),
  );
  const child = run('/usr/sbin/clamd', ['-c', conf], logFile);
  const log = () => readLog(logFile) + readLog(path.join(dir.path, 'stdout.log'));
  await started(child, port, STARTUP_MS, log, dir);
  return {
    port,
    socket,
    log,
    async stop() {
      await stopChild(child);
      await dir.remove();
    },
  };
}

export async function startSpamd(): Promise<Daemon> {
  const dir = await makeTempDir('postbote-spamd-');
  const home = path.join(dir.path, 'home');
  await mkdir(home);
  await chown(home, uid('debian-spamd'), gid('debian-spamd'));
  const [port] = (await freePorts(1)) as [number];
  const logFile = path.join(dir.path, 'spamd.log');
  const child = run(
    '/usr/sbin/spamd',
    [
      '-L',
      '-i',
      '127.0.0.1',
      '-p',
      String(port),
      '-A',
      '127.0.0.1/32',
      '-u',
      'debian-spamd',
      '-g',
      'debian-spamd',
      '-x',
      `--helper-home-dir=${home}`,
      `--pidfile=${path.join(dir.path, 'spamd.pid')}`,
      '-s',
      logFile,
      '-m',
      '2',
    ],
    logFile,
  );
  const log = () => readLog(logFile) + readLog(path.join(dir.path, 'stdout.log'));
  await started(child, port, STARTUP_MS, log, dir);
  return {
    port,
    log,
    async stop() {
      await stopChild(child);
      await dir.remove();
    },
  };
}

/** One DBDIR for the whole run (and later runs): only the first start pays for compiling TLD data. */
function rspamdDbDir(): string {
  const db = path.join(os.tmpdir(), 'postbote-rspamd-db');
  mkdirSync(db, { recursive: true });
  return db;
}

export async function startRspamd(): Promise<Daemon> {
  const dir = await makeTempDir('postbote-rspamd-');
  const conf = path.join(dir.path, 'conf');
  const override = path.join(conf, 'override.d');
  const run_ = path.join(dir.path, 'run');
  const logs = path.join(dir.path, 'log');
  for (const d of [override, run_, logs]) await mkdir(d, { recursive: true });
  const db = rspamdDbDir();
  for (const d of [run_, logs, db, dir.path]) await chown(d, uid('_rspamd'), gid('_rspamd'));
  const [port, controller] = (await freePorts(2)) as [number, number];
  await writeFile(
    path.join(override, 'worker-normal.inc'),
    `bind_socket = "127.0.0.1:${port}";\ncount = 1;\n`,
  );
  await writeFile(
    path.join(override, 'worker-controller.inc'),
    `bind_socket = "127.0.0.1:${controller}";\ncount = 1;\n`,
  );
  await writeFile(path.join(override, 'worker-proxy.inc'), 'count = 0;\n');
  const logFile = path.join(logs, 'rspamd.log');
  await writeFile(
    path.join(override, 'logging.inc'),
    `type = "file";\nfilename = "${logFile}";\nlevel = "warning";\n`,
  );
  const child = run(
    '/usr/bin/rspamd',
    [
      '-f',
      '-u',
      '_rspamd',
      '-g',
      '_rspamd',
      '-c',
      '/etc/rspamd/rspamd.conf',
      `--var=LOCAL_CONFDIR=${conf}`,
      `--var=DBDIR=${db}`,
      `--var=RUNDIR=${run_}`,
      `--var=LOGDIR=${logs}`,
    ],
    path.join(dir.path, 'x.log'),
  );
  const log = () => readLog(logFile) + readLog(path.join(dir.path, 'stdout.log'));
  await started(child, port, RSPAMD_STARTUP_MS, log, dir);
  return {
    port,
    log,
    async stop() {
      await stopChild(child);
      await dir.remove();
    },
  };
}

function uid(user: string): number {
  return Number(idOf(user, 2));
}
function gid(user: string): number {
  return Number(idOf(user, 3));
}
function idOf(user: string, field: number): string {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no user ${user} (install the scanner's Debian package)`);
  return line.split(':')[field] as string;
}
