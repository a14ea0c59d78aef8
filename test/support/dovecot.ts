// Starts a private Dovecot (POP3, POP3S, IMAP, IMAPS, LMTP on free loopback ports) for end-to-end
// tests, and stops it by the pid in its own base_dir. Needs root and Debian's dovecot packages.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import {
  type DovecotPorts,
  ensureMailUser,
  instancePaths,
  makeCertificate,
  renderConfig,
  renderOAuth2,
  renderPasswd,
} from './dovecot-config.js';
import { createMaildir, listMessages, readMessages, seedMaildir } from './maildir.js';
import { freePorts, makeTempDir, waitForPort } from './ports.js';

export type { DovecotPorts } from './dovecot-config.js';

// Dovecot is up in ~100 ms here; a loaded CI machine running test files in parallel is slower.
const STARTUP_TIMEOUT_MS = 15_000;
// The master usually exits within ~100 ms of SIGTERM; then its process group gets SIGKILL.
const STOP_GRACE_MS = 500;
// After SIGKILL the kernel needs only moments; the bound just keeps stop() from hanging.
const STOP_TIMEOUT_MS = 5_000;
// Another process may take a port between freePorts() and Dovecot binding it: retry with new ones.
const START_ATTEMPTS = 3;

export interface DovecotOptions {
  /** Local parts (lowercase, no '@'); LMTP accepts them at any domain. */
  users: string[];
  /** One password for every user; default: `secret-<user>`. */
  password?: string;
  /** Readable part of the instance name and directory (e.g. the test file's name). */
  name?: string;
  /** Dovecot's login process mode (see ConfigParams); default 'secure', Dovecot's own default. */
  loginMode?: 'secure' | 'performance';
  /** Accept OAuth2 tokens (XOAUTH2, OAUTHBEARER) checked by this RFC 7662 introspection endpoint. */
  oauth2?: { introspectionUrl: string };
}

export interface Dovecot {
  host: '127.0.0.1';
  ports: DovecotPorts;
  /** PEM file of the self-signed certificate (SAN DNS:localhost, IP:127.0.0.1), to trust as CA. */
  caFile: string;
  caPem: string;
  password(user: string): string;
  maildir(user: string): string;
  seed(user: string, messages: Buffer[]): Promise<void>;
  /** Messages in new/ and cur/, not counting those flagged deleted. */
  count(user: string): number;
  messages(user: string): Buffer[];
  /**
   * A folder's Maildir (IMAP name with '.' as separator, e.g. 'Archive'; 'INBOX' is the user's Maildir),
   * created on first use; seed, count and read it with the functions of maildir.ts via `seedFolder`.
   */
  folder(user: string, name: string): Promise<string>;
  seedFolder(user: string, name: string, messages: Buffer[]): Promise<void>;
  /** Maildir flags (the letters after ":2,") of each message of a folder, in seeding order. */
  flags(user: string, name: string): string[];
  /** The instance's log so far, to attach to a failing assertion. */
  log(): string;
  /** Whether its master process still runs (its ports may be another instance's once it stopped). */
  running(): boolean;
  stop(): Promise<void>;
}

/** Why Dovecot cannot run here, or undefined when it can (for `test(..., { skip })`). */
export function dovecotUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) {
    return 'the Dovecot harness needs root (Dovecot must switch to the mail user); run the tests as root';
  }
  for (const bin of [
    '/usr/sbin/dovecot',
    '/usr/lib/dovecot/pop3',
    '/usr/lib/dovecot/imap',
    '/usr/lib/dovecot/lmtp',
  ]) {
    if (!existsSync(bin)) return `${bin} is missing: run scripts/ensure-test-deps.sh as root`;
  }
  return undefined;
}

export async function startDovecot(options: DovecotOptions): Promise<Dovecot> {
  const unavailable = dovecotUnavailable();
  if (unavailable) throw new Error(`cannot start Dovecot: ${unavailable}`);
  for (const user of options.users) {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(user)) throw new Error(`invalid Dovecot test user name: ${user}`);
  }
  if (options.password !== undefined && /[:\r\n]/.test(options.password)) {
    throw new Error('the test password must not contain ":" or line breaks (passwd-file format)');
  }
  const { uid, gid } = await ensureMailUser();
  const label = (options.name ?? 'dovecot').replace(/[^A-Za-z0-9-]/g, '-').slice(0, 24);
  const tmp = await makeTempDir(`postbote-${label}`);
  const dir = tmp.path;
  const files = instancePaths(dir);
  const instanceName = path.basename(dir);
  const password = (user: string) => options.password ?? `secret-${user}`;
  const maildir = (user: string) => {
    if (!options.users.includes(user)) throw new Error(`${user} is not a user of this Dovecot`);
    return path.join(files.homes, user, 'Maildir');
  };

  let ports: DovecotPorts | undefined;
  try {
    // Dovecot's unprivileged processes (dovenull, dovecot, the mail user) must traverse the dir.
    await chmod(dir, 0o755);
    await mkdir(files.stateDir, { mode: 0o755 });
    await mkdir(files.homes, { mode: 0o755 });
    await makeCertificate(files.cert, files.key);
    await writeFile(files.passwd, renderPasswd(options.users, password), { mode: 0o644 });
    if (options.oauth2)
      await writeFile(files.oauth2, renderOAuth2(options.oauth2.introspectionUrl), { mode: 0o644 });
    for (const user of options.users) await createMaildir(maildir(user), uid, gid);
    ports = await launch(dir, instanceName, uid, gid, options.loginMode, options.oauth2);
  } catch (err) {
    await tmp.remove();
    throw err;
  }

  live.set(dir, files.pidFile);
  registerExitCleanup();
  // Read once started (launch waited for it): the file goes with the folder at stop().
  const master = readPid(files.pidFile);
  const caPem = await readFile(files.cert, 'utf8');
  let stopped: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    ports,
    caFile: files.cert,
    caPem,
    password: (user) => {
      maildir(user);
      return password(user);
    },
    maildir,
    seed: (user, messages) => seedMaildir(maildir(user), messages, uid, gid),
    count: (user) => listMessages(maildir(user)).length,
    messages: (user) => readMessages(maildir(user)),
    folder: async (user, name) => {
      const dir = folderDir(maildir(user), name);
      await createMaildir(dir, uid, gid);
      return dir;
    },
    seedFolder: async (user, name, messages) => {
      const dir = folderDir(maildir(user), name);
      await createMaildir(dir, uid, gid);
      await seedMaildir(dir, messages, uid, gid);
    },
    flags: (user, name) =>
      listMessages(folderDir(maildir(user), name), true).map((f) => {
        const info = f.indexOf(':2,');
        return info < 0 ? '' : f.slice(info + 3);
      }),
    log: () => readLog(files.log),
    running: () => master !== undefined && isAlive(master),
    stop: () => {
      stopped ??= (async () => {
        await stopMaster(files.pidFile);
        live.delete(dir);
        await tmp.remove();
      })();
      return stopped;
    },
  };
}

/** Maildir++ layout: folder "A.B" is the directory ".A.B" inside the Maildir; INBOX is the Maildir itself. */
function folderDir(maildir: string, name: string): string {
  return name.toUpperCase() === 'INBOX' ? maildir : path.join(maildir, `.${name}`);
}

async function launch(
  dir: string,
  instanceName: string,
  uid: number,
  gid: number,
  loginMode: 'secure' | 'performance' | undefined,
  oauth2?: { introspectionUrl: string },
): Promise<DovecotPorts> {
  const files = instancePaths(dir);
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const [pop3, pop3s, imap, imaps, lmtp] = await freePorts(5);
    const ports: DovecotPorts = { pop3: pop3!, pop3s: pop3s!, imap: imap!, imaps: imaps!, lmtp: lmtp! };
    await writeFile(
      files.config,
      renderConfig({ dir, instanceName, ports, uid, gid, loginMode, ...(oauth2 ? { oauth2 } : {}) }),
    );
    const failure = await runMaster(files.config, `${dir}/startup.err`);
    if (failure !== undefined) {
      const log = readLog(files.log);
      lastError = new Error(`dovecot -c ${files.config} failed: ${failure}\n--- dovecot log ---\n${log}`);
      if (/address already in use/i.test(`${failure}${log}`)) continue;
      throw lastError;
    }
    try {
      for (const port of Object.values(ports)) await waitForPort(port, '127.0.0.1', STARTUP_TIMEOUT_MS);
      // The ports accept once bound, before the daemon has written its pid file: until then stop()
      // could not find it, nor running() say it runs.
      await waitForPidFile(files.pidFile, STARTUP_TIMEOUT_MS);
      return ports;
    } catch (err) {
      await stopMaster(files.pidFile);
      throw new Error(
        `Dovecot did not come up: ${(err as Error).message}\n--- dovecot log ---\n${readLog(files.log)}`,
      );
    }
  }
  throw lastError ?? new Error('Dovecot did not start');
}

/**
 * Runs `dovecot -c CONF`, which forks the master into the background and exits. Its stderr goes to
 * a file, not a pipe: the daemon inherits the descriptors, and a pipe would never close.
 * Returns undefined on success, else what went wrong.
 */
async function runMaster(config: string, errFile: string): Promise<string | undefined> {
  const fd = openSync(errFile, 'w');
  try {
    const child = spawn('/usr/sbin/dovecot', ['-c', config], { stdio: ['ignore', fd, fd] });
    const [code, sig] = await new Promise<[number | null, string | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolve([c, s]));
    });
    if (code === 0) return undefined;
    return `exit ${code ?? sig}: ${readFileSync(errFile, 'utf8').trim()}`;
  } finally {
    closeSync(fd);
  }
}

async function stopMaster(pidFile: string): Promise<void> {
  const pid = readPid(pidFile);
  if (pid === undefined) return;
  signal(pid, 'SIGTERM');
  if (await exited(pid, STOP_GRACE_MS)) return;
  // The master's children share its process group (the daemon made itself leader); an idle lmtp
  // process otherwise keeps the master waiting about 5 s.
  killGroup(pid);
  await exited(pid, STOP_TIMEOUT_MS);
}

async function exited(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await delay(20);
  }
  return true;
}

async function waitForPidFile(pidFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (readPid(pidFile) === undefined) {
    if (Date.now() > deadline) throw new Error(`no pid in ${pidFile} after ${timeoutMs} ms`);
    await delay(10);
  }
}

function readPid(pidFile: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** SIGKILL to the master's process group, which the daemon leads (checked, so no stranger is hit). */
function killGroup(pid: number): void {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    signal(pgrp === pid ? -pid : pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A zombie counts as gone: in a container without an init, nobody may ever reap it. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function readLog(logPath: string): string {
  try {
    return readFileSync(logPath, 'utf8');
  } catch {
    return '(no dovecot log)';
  }
}

// Instances not stopped by their test (a crash, a forgotten stop): killed when the process exits.
const live = new Map<string, string>();
let exitCleanupRegistered = false;

function registerExitCleanup(): void {
  if (exitCleanupRegistered) return;
  exitCleanupRegistered = true;
  process.once('exit', killAllLive);
  // A test run killed by a timeout or Ctrl-C gets no 'exit' event: clean up, then let the signal
  // do what it would have done (unless the program handles it itself).
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAllLive();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

function killAllLive(): void {
  for (const [dir, pidFile] of live) {
    const pid = readPid(pidFile);
    if (pid !== undefined) killGroup(pid);
    rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
  live.clear();
}
