// Starts a private Courier POP3 server (plain with STLS, and POP3S) on free loopback ports for the
// interoperability tests. Courier conflicts with Dovecot's packages, so it runs from the files
// scripts/ensure-test-deps.sh unpacked; its auth library has its paths compiled in (/etc/courier,
// /run/courier), so authdaemond and couriertcpd each run under `unshare -m` with this instance's
// folders bind-mounted over those paths. Needs root.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ensureMailUser, makeCertificate } from './dovecot-config.js';
import { createMaildir, listMessages, readMessages, seedMaildir } from './maildir.js';
import { freePorts, makeTempDir, waitForPort } from './ports.js';

/** Where scripts/ensure-test-deps.sh unpacked courier-base and courier-pop. */
export const INTEROP_ROOT = path.join(
  process.env.POSTBOTE_INTEROP_DIR ?? path.join(process.env.TMPDIR ?? os.tmpdir(), 'postbote-interop'),
  'root',
);
const BIN = {
  tcpd: path.join(INTEROP_ROOT, 'usr/sbin/couriertcpd'),
  tls: path.join(INTEROP_ROOT, 'usr/bin/couriertls'),
  login: path.join(INTEROP_ROOT, 'usr/lib/courier/courier/courierpop3login'),
  pop3d: path.join(INTEROP_ROOT, 'usr/lib/courier/courier/courierpop3d'),
  // From the installed courier-authdaemon / courier-authlib-userdb (no conflict with Dovecot).
  authdaemond: '/usr/lib/courier/courier-authlib/authdaemond',
  makeuserdb: '/usr/sbin/makeuserdb',
};
// The paths compiled into libcourierauth: the instance's own folders are mounted over them.
const AUTH_CONFIG_DIR = '/etc/courier';
const AUTH_RUN_DIR = '/run/courier';

// Courier is up in well under a second here; a loaded CI machine running tests in parallel is slower.
const STARTUP_TIMEOUT_MS = 15_000;
// A port may be taken between freePorts() and couriertcpd binding it: retry with new ones.
const START_ATTEMPTS = 3;

export interface CourierPorts {
  /** Plain POP3 offering STLS. */
  pop3: number;
  pop3s: number;
}

export interface Courier {
  host: '127.0.0.1';
  ports: CourierPorts;
  caFile: string;
  password(user: string): string;
  seed(user: string, messages: Buffer[]): Promise<void>;
  count(user: string): number;
  messages(user: string): Buffer[];
  log(): string;
  stop(): Promise<void>;
}

/** Why Courier cannot run here, or undefined when it can. */
export function courierUnavailable(): string | undefined {
  if (process.getuid?.() !== 0)
    return 'the Courier harness needs root (bind mounts, setuid to the mail user)';
  for (const bin of [...Object.values(BIN), '/usr/bin/unshare']) {
    if (!existsSync(bin)) return `${bin} is missing: run scripts/ensure-test-deps.sh as root`;
  }
  return undefined;
}

export async function startCourier(options: { users: string[]; name?: string }): Promise<Courier> {
  const unavailable = courierUnavailable();
  if (unavailable) throw new Error(`cannot start Courier: ${unavailable}`);
  const { uid, gid } = await ensureMailUser();
  const tmp = await makeTempDir(`postbote-courier-${options.name ?? 'test'}`);
  const dir = tmp.path;
  const etc = path.join(dir, 'etc');
  const run = path.join(dir, 'run');
  const homes = path.join(dir, 'homes');
  const logFile = path.join(dir, 'courier.log');
  const password = (user: string) => `secret-${user}`;
  const maildir = (user: string) => {
    if (!options.users.includes(user)) throw new Error(`${user} is not a user of this Courier`);
    return path.join(homes, user, 'Maildir');
  };
  const children: ChildProcess[] = [];
  try {
    // The mail user (courierpop3d runs as it) must traverse the folder to the homes.
    await chmod(dir, 0o755);
    for (const d of [etc, path.join(run, 'authdaemon'), homes])
      await mkdir(d, { recursive: true, mode: 0o755 });
    // The mount points must exist on the host; creating empty folders there changes nothing else.
    for (const d of [AUTH_CONFIG_DIR, AUTH_RUN_DIR]) mkdirSync(d, { recursive: true });
    await writeFile(
      path.join(etc, 'authdaemonrc'),
      'authmodulelist="authuserdb"\nauthmodulelistorig="authuserdb"\ndaemons=2\nauthdaemonvar=/run/courier/authdaemon\nDEBUG_LOGIN=0\nDEFAULTOPTIONS=""\nLOGGEROPTS=""\n',
    );
    const userdb: string[] = [];
    for (const user of options.users) {
      await createMaildir(maildir(user), uid, gid);
      const hash = await cryptPassword(password(user));
      userdb.push(`${user}\tuid=${uid}|gid=${gid}|home=${path.dirname(maildir(user))}|systempw=${hash}`);
    }
    await writeFile(path.join(etc, 'userdb'), `${userdb.join('\n')}\n`, { mode: 0o600 });
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    await makeCertificate(cert, key);
    // couriertls wants key and certificate in one file; for STLS it runs after Courier dropped root,
    // so the file is world-readable (a throwaway test key in a throwaway folder).
    await writeFile(
      path.join(dir, 'pop3d.pem'),
      `${await readFile(key, 'utf8')}${await readFile(cert, 'utf8')}`,
      {
        mode: 0o644,
      },
    );
    await copyFile(cert, path.join(dir, 'ca.pem'));
    // RFC 7919's ffdhe2048 group, as certtool prints it: generating parameters would take seconds.
    await writeFile(path.join(dir, 'dhparams.pem'), await output('certtool', ['--get-dh-params']));
    const mounts = `mount --bind ${etc} ${AUTH_CONFIG_DIR} && mount --bind ${run} ${AUTH_RUN_DIR}`;
    await runOnce(`${mounts} && ${BIN.makeuserdb}`, logFile);
    children.push(background(`${mounts} && exec ${BIN.authdaemond}`, logFile, {}));
    await waitFor(() => existsSync(path.join(run, 'authdaemon', 'socket')), 'authdaemond socket', logFile);
    const ports = await listen(mounts, dir, logFile, children);
    const stop = async () => {
      for (const child of children) killGroup(child);
      await Promise.all(children.map((c) => exited(c)));
      await tmp.remove();
    };
    live.add(stop);
    let stopped: Promise<void> | undefined;
    return {
      host: '127.0.0.1',
      ports,
      caFile: path.join(dir, 'ca.pem'),
      password: (user) => {
        maildir(user);
        return password(user);
      },
      seed: (user, messages) => seedMaildir(maildir(user), messages, uid, gid),
      count: (user) => listMessages(maildir(user)).length,
      messages: (user) => readMessages(maildir(user)),
      log: () => readLog(logFile),
      stop: () => {
        live.delete(stop);
        stopped ??= stop();
        return stopped;
      },
    };
  } catch (err) {
    for (const child of children) killGroup(child);
    await tmp.remove();
    throw err;
  }
}

/** couriertcpd for POP3 (STLS offered) and for POP3S (couriertls in front), on fresh ports. */
async function listen(
  mounts: string,
  dir: string,
  logFile: string,
  children: ChildProcess[],
): Promise<CourierPorts> {
  const env = {
    POP3_STARTTLS: 'YES',
    POP3_TLS_REQUIRED: '0',
    COURIERTLS: BIN.tls,
    TLS_CERTFILE: path.join(dir, 'pop3d.pem'),
    TLS_VERIFYPEER: 'NONE',
    TLS_DHPARAMS: path.join(dir, 'dhparams.pem'),
    // Courier's own default; said here because the tests depend on it.
    MIME_UNICODE_MESSAGE_TYPE: 'message/global',
    MAILDIRPATH: 'Maildir',
  };
  let last: Error | undefined;
  for (let attempt = 0; attempt < START_ATTEMPTS; attempt++) {
    const [pop3, pop3s] = (await freePorts(2)) as [number, number];
    const tcpd = `${BIN.tcpd} -address=127.0.0.1 -nodnslookup -noidentlookup -maxprocs=20 -maxperip=20`;
    const servers = [
      background(`${mounts} && exec ${tcpd} ${pop3} ${BIN.login} ${BIN.pop3d} Maildir`, logFile, env),
      background(
        `${mounts} && exec ${tcpd} ${pop3s} ${BIN.tls} -server -tcpd ${BIN.login} ${BIN.pop3d} Maildir`,
        logFile,
        { ...env, POP3_TLS: '1', POP3_STARTTLS: 'NO' },
      ),
    ];
    children.push(...servers);
    try {
      await waitForPort(pop3, '127.0.0.1', STARTUP_TIMEOUT_MS);
      await waitForPort(pop3s, '127.0.0.1', STARTUP_TIMEOUT_MS);
      return { pop3, pop3s };
    } catch (err) {
      last = new Error(
        `Courier did not come up: ${(err as Error).message}\n--- log ---\n${readLog(logFile)}`,
      );
      for (const s of servers) killGroup(s);
    }
  }
  throw last ?? new Error('Courier did not start');
}

/** A process in its own mount namespace and process group, output appended to the log. */
function background(script: string, logFile: string, env: Record<string, string>): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn('/usr/bin/unshare', ['-m', '/bin/sh', '-c', script], {
      stdio: ['ignore', fd, fd],
      detached: true,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
    });
    child.on('error', () => {});
    return child;
  } finally {
    closeSync(fd);
  }
}

async function runOnce(script: string, logFile: string): Promise<void> {
  const child = background(script, logFile, {});
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${script} failed (exit ${code}):\n${readLog(logFile)}`);
}

async function cryptPassword(password: string): Promise<string> {
  return (await output('openssl', ['passwd', '-6', '-stdin'], password)).trim();
}

async function output(command: string, args: string[], input = ''): Promise<string> {
  const child = spawn(command, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'ignore'] });
  child.stdin?.end(input);
  let out = '';
  for await (const chunk of child.stdout!) out += chunk;
  const code = child.exitCode ?? (await new Promise<number | null>((resolve) => child.once('exit', resolve)));
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${code})`);
  return out;
}

async function waitFor(ok: () => boolean, what: string, logFile: string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what} did not appear:\n${readLog(logFile)}`);
    await delay(20);
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '(no log)';
  }
}

// Instances a test forgot to stop: their process groups are killed when the test process exits.
const live = new Set<() => Promise<void>>();
process.once('exit', () => {
  for (const stop of live) void stop();
});
