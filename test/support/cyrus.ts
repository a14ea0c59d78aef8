// Starts a private Cyrus IMAP/POP3 server (POP3 with STLS, POP3S, and IMAP to load mail) on free
// loopback ports for the interoperability tests. Cyrus's pop3d and imapd conflict with Dovecot's
// packages, so they run from the files scripts/ensure-test-deps.sh unpacked; the master process comes
// from cyrus-common, users from a private sasldb. Mail is loaded with IMAP APPEND, which stores it
// as sent (LMTP would add headers). Needs root (master switches to the cyrus user).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { INTEROP_ROOT } from './courier.js';
import { makeCertificate } from './dovecot-config.js';
import { freePorts, makeTempDir, waitForPort } from './ports.js';

const BIN = {
  master: '/usr/lib/cyrus/bin/master',
  recover: '/usr/lib/cyrus/bin/ctl_cyrusdb',
  saslpasswd: '/usr/sbin/saslpasswd2',
  pop3d: path.join(INTEROP_ROOT, 'usr/lib/cyrus/bin/pop3d'),
  imapd: path.join(INTEROP_ROOT, 'usr/lib/cyrus/bin/imapd'),
};
// The SASL realm users are stored under; Cyrus looks them up under its servername.
const SERVERNAME = 'postbote-cyrus';
const ADMIN = 'cyrusadmin';

// Cyrus is up in about a second here; a loaded CI machine running tests in parallel is slower.
const STARTUP_TIMEOUT_MS = 20_000;
// An IMAP command of the loader (a few KB to MB of APPEND) on loopback.
const IMAP_TIMEOUT_MS = 30_000;

export interface CyrusPorts {
  pop3: number;
  pop3s: number;
  imap: number;
}

export interface Cyrus {
  host: '127.0.0.1';
  ports: CyrusPorts;
  caFile: string;
  password(user: string): string;
  /** Appends the messages to the user's INBOX over IMAP, in order. */
  seed(user: string, messages: Buffer[]): Promise<void>;
  /** Messages in the user's INBOX (IMAP STATUS). */
  count(user: string): Promise<number>;
  log(): string;
  stop(): Promise<void>;
}

export function cyrusUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'the Cyrus harness needs root (master switches to the cyrus user)';
  for (const bin of Object.values(BIN)) {
    if (!existsSync(bin)) return `${bin} is missing: run scripts/ensure-test-deps.sh as root`;
  }
  return undefined;
}

export async function startCyrus(options: { users: string[]; name?: string }): Promise<Cyrus> {
  const unavailable = cyrusUnavailable();
  if (unavailable) throw new Error(`cannot start Cyrus: ${unavailable}`);
  const { uid, gid } = await cyrusUser();
  const tmp = await makeTempDir(`postbote-cyrus-${options.name ?? 'test'}`);
  const dir = tmp.path;
  const logFile = path.join(dir, 'master.log');
  const password = (user: string) => `secret-${user}`;
  let master: ChildProcess | undefined;
  try {
    for (const sub of ['conf', 'spool', 'sieve', 'socket', 'run']) await mkdir(path.join(dir, sub));
    await makeCertificate(path.join(dir, 'cert.pem'), path.join(dir, 'key.pem'));
    const [pop3, pop3s, imap] = (await freePorts(3)) as [number, number, number];
    const ports = { pop3, pop3s, imap };
    const conf = path.join(dir, 'imapd.conf');
    await writeFile(conf, imapdConf(dir));
    await writeFile(path.join(dir, 'cyrus.conf'), cyrusConf(conf, ports));
    for (const user of [ADMIN, ...options.users]) {
      await run(
        BIN.saslpasswd,
        ['-p', '-c', '-f', path.join(dir, 'sasldb2'), '-u', SERVERNAME, user],
        password(user),
      );
    }
    await chownTree(dir, uid, gid);
    const fd = openSync(logFile, 'a');
    try {
      master = spawn(
        BIN.master,
        ['-C', conf, '-M', path.join(dir, 'cyrus.conf'), '-p', path.join(dir, 'run/master.pid'), '-D'],
        {
          stdio: ['ignore', fd, fd],
          detached: true,
        },
      );
      master.on('error', () => {});
    } finally {
      closeSync(fd);
    }
    for (const port of Object.values(ports)) await waitForPort(port, '127.0.0.1', STARTUP_TIMEOUT_MS);
    const admin = await Imap.open(imap, ADMIN, password(ADMIN));
    for (const user of options.users) await admin.command(`CREATE user/${user}`);
    await admin.close();
    const child = master;
    const stop = async () => {
      killGroup(child);
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
      await tmp.remove();
    };
    live.add(stop);
    let stopped: Promise<void> | undefined;
    return {
      host: '127.0.0.1',
      ports,
      caFile: path.join(dir, 'cert.pem'),
      password: (user) => password(user),
      seed: async (user, messages) => {
        const s = await Imap.open(imap, user, password(user));
        for (const m of messages) await s.append('INBOX', m);
        await s.close();
      },
      count: async (user) => {
        const s = await Imap.open(imap, user, password(user));
        const reply = await s.command('STATUS INBOX (MESSAGES)');
        await s.close();
        const m = /MESSAGES (\d+)/.exec(reply);
        if (!m) throw new Error(`STATUS not understood: ${reply}`);
        return Number(m[1]);
      },
      log: () => readLog(logFile),
      stop: () => {
        live.delete(stop);
        stopped ??= stop();
        return stopped;
      },
    };
  } catch (err) {
    if (master) killGroup(master);
    const log = readLog(logFile);
    await tmp.remove();
    throw new Error(`Cyrus did not start: ${(err as Error).message}\n--- log ---\n${log}`);
  }
}

function imapdConf(dir: string): string {
  return `${[
    `configdirectory: ${dir}/conf`,
    `partition-default: ${dir}/spool`,
    `sievedir: ${dir}/sieve`,
    `servername: ${SERVERNAME}`,
    `admins: ${ADMIN}`,
    'sasl_pwcheck_method: auxprop',
    'sasl_auxprop_plugin: sasldb',
    `sasl_sasldb_path: ${dir}/sasldb2`,
    'sasl_mech_list: PLAIN LOGIN',
    'allowplaintext: yes',
    `tls_server_cert: ${dir}/cert.pem`,
    `tls_server_key: ${dir}/key.pem`,
    // Without these, 8-bit header bytes become 'X' or the message is refused on APPEND.
    'munge8bit: no',
    'reject8bit: no',
    'unixhierarchysep: yes',
    // Minutes between POP3 logins; 0 so the tests may log in as often as they need.
    'popminpoll: 0',
    `lmtpsocket: ${dir}/socket/lmtp`,
    `idlesocket: ${dir}/socket/idle`,
    `notifysocket: ${dir}/socket/notify`,
    `syslog_prefix: ${path.basename(dir)}`,
  ].join('\n')}\n`;
}

function cyrusConf(conf: string, ports: CyrusPorts): string {
  const listen = (port: number) => `listen="127.0.0.1:${port}" prefork=0`;
  return [
    'START {',
    `  recover cmd="${BIN.recover} -C ${conf} -r"`,
    '}',
    'SERVICES {',
    `  imap cmd="${BIN.imapd} -C ${conf}" ${listen(ports.imap)}`,
    `  pop3 cmd="${BIN.pop3d} -C ${conf}" ${listen(ports.pop3)}`,
    `  pop3s cmd="${BIN.pop3d} -s -C ${conf}" ${listen(ports.pop3s)}`,
    '}',
    'EVENTS {',
    '}',
    'DAEMON {',
    '}',
    '',
  ].join('\n');
}

/** The smallest IMAP client that loads a test mailbox: LOGIN, APPEND with a literal, STATUS, LOGOUT. */
class Imap {
  private buffer = '';
  private tag = 0;
  private waiters: Array<() => void> = [];

  private constructor(private readonly socket: ReturnType<typeof connect>) {
    socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on('error', () => {});
  }

  static async open(port: number, user: string, password: string): Promise<Imap> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const s = new Imap(socket);
    await s.until(/^\* OK.*\r\n/m);
    await s.command(`LOGIN ${user} ${password}`);
    return s;
  }

  async command(line: string): Promise<string> {
    const tag = `t${++this.tag}`;
    this.socket.write(`${tag} ${line}\r\n`);
    return this.done(tag, line);
  }

  async append(mailbox: string, message: Buffer): Promise<void> {
    const tag = `t${++this.tag}`;
    this.socket.write(`${tag} APPEND ${mailbox} {${message.length}}\r\n`);
    await this.until(/^\+ .*\r\n/m);
    this.buffer = '';
    this.socket.write(Buffer.concat([message, Buffer.from('\r\n')]));
    await this.done(tag, 'APPEND');
  }

  async close(): Promise<void> {
    await this.command('LOGOUT');
    this.socket.destroy();
  }

  private async done(tag: string, what: string): Promise<string> {
    const m = await this.until(new RegExp(`^${tag} (OK|NO|BAD)[^\\r\\n]*\\r\\n`, 'm'));
    const text = this.buffer;
    this.buffer = '';
    if (m[1] !== 'OK') throw new Error(`IMAP ${what} failed: ${text}`);
    return text;
  }

  private async until(re: RegExp): Promise<RegExpExecArray> {
    const deadline = Date.now() + IMAP_TIMEOUT_MS;
    for (;;) {
      const m = re.exec(this.buffer);
      if (m) return m;
      if (Date.now() > deadline || this.socket.destroyed) throw new Error(`IMAP: no ${re} in ${this.buffer}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

async function cyrusUser(): Promise<{ uid: number; gid: number }> {
  const out = await capture('id', ['-u', 'cyrus']);
  const gid = await capture('id', ['-g', 'cyrus']);
  return { uid: Number(out), gid: Number(gid) };
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await run('chown', ['-R', `${uid}:${gid}`, dir]);
  // The folder itself comes from mkdtemp (0700): master's children run as cyrus.
  await chown(dir, uid, gid);
}

async function run(command: string, args: string[], input = ''): Promise<void> {
  const child = spawn(command, args, { stdio: [input ? 'pipe' : 'ignore', 'ignore', 'pipe'] });
  child.stdin?.end(input);
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${code}): ${err}`);
}

async function capture(command: string, args: string[]): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  for await (const chunk of child.stdout!) out += chunk;
  return out.trim();
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
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
