// A private PostgreSQL cluster for tests: initdb into a temporary folder, the server in the foreground
// as the `postgres` OS user on a free loopback port with its own socket folder (never the package's
// `main` cluster), TLS on with a self-signed certificate, password (scram) login over TCP.
// Needs root and Debian's postgresql package (scripts/ensure-test-deps.sh installs it).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chown, existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { makeCertificate } from './dovecot-config.js';
import { freePort, makeTempDir, waitForPort } from './ports.js';

const run = promisify(execFile);
const chownP = promisify(chown);

// initdb takes ~1.6 s here; a loaded machine running test files in parallel is slower.
const STARTUP_TIMEOUT_MS = 30_000;
// A fast shutdown takes ~0.1 s; then the server gets SIGKILL.
const STOP_GRACE_MS = 3_000;
// Another process may take the port between freePort() and the server binding it: retry with a new one.
const START_ATTEMPTS = 3;
// Bump when initCluster() changes: a template made by an older harness is then not reused.
const TEMPLATE_VERSION = 1;

export interface PostgresCluster {
  host: '127.0.0.1';
  port: number;
  /** The superuser's password (user postgres), for scram login over TCP. */
  password: string;
  /** PEM of the server's self-signed certificate (SAN localhost, 127.0.0.1), to trust as CA. */
  caFile: string;
  /** postgres://postgres:PASSWORD@127.0.0.1:PORT/DB */
  url(database: string, withPassword?: boolean): string;
  /** A fresh, empty database; returns its URL (with the password). */
  createDatabase(prefix?: string): Promise<string>;
  log(): string;
  stop(): Promise<void>;
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && path.join(root, versions[0], 'bin');
}

/** Why PostgreSQL cannot run here, or undefined when it can (for `test(..., { skip })`). */
export function postgresUnavailable(): string | undefined {
  if (process.getuid?.() !== 0)
    return 'the PostgreSQL harness needs root (it runs the server as user postgres)';
  if (!binDir()) return 'PostgreSQL is missing: run scripts/ensure-test-deps.sh as root';
  return undefined;
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: g } = await run('id', ['-g', 'postgres']);
  return { uid: Number(stdout.trim()), gid: Number(g.trim()) };
}

let counter = 0;

/** Password, certificate and an initdb'd data folder in `dir` (owned by postgres). */
async function initCluster(dir: string, bin: string, ids: { uid: number; gid: number }): Promise<void> {
  // The folder and everything in it belong to postgres: initdb refuses root, the server its key file.
  await chownP(dir, ids.uid, ids.gid);
  const pwfile = path.join(dir, 'pw');
  await writeFile(pwfile, randomBytes(12).toString('hex'), { mode: 0o600 });
  const caFile = path.join(dir, 'server.crt');
  const keyFile = path.join(dir, 'server.key');
  await makeCertificate(caFile, keyFile);
  for (const f of [pwfile, caFile, keyFile]) await chownP(f, ids.uid, ids.gid);
  await chmod(keyFile, 0o600);
  await run('runuser', [
    '-u',
    'postgres',
    '--',
    path.join(bin, 'initdb'),
    '-D',
    path.join(dir, 'data'),
    '-E',
    'UTF8',
    '--locale=C.UTF-8',
    '-U',
    'postgres',
    `--pwfile=${pwfile}`,
    '--auth-local=trust',
    '--auth-host=scram-sha-256',
    '--no-sync',
  ]);
}

/**
 * initdb once per machine (and PostgreSQL version): each test file copies this never-started cluster
 * (cp -a, ~0.1 s) instead of running initdb (~1.6 s, more on a loaded machine). Built aside and
 * renamed into place, so a concurrent or interrupted build never leaves a half template.
 */
async function template(bin: string, ids: { uid: number; gid: number }): Promise<string> {
  const dir = path.join(
    os.tmpdir(),
    `postbote-pg-template-${TEMPLATE_VERSION}-${path.basename(path.dirname(bin))}`,
  );
  if (existsSync(path.join(dir, 'data', 'PG_VERSION'))) return dir;
  const build = await makeTempDir('postbote-pg-build');
  await initCluster(build.path, bin, ids);
  try {
    await rename(build.path, dir);
  } catch {
    await build.remove(); // another test file built it first
  }
  return dir;
}

/**
 * `durable`: keep fsync on, as a production server runs (the benchmark compares the store's cost with
 * SQLite's, which fsyncs); tests leave it off.
 */
export async function startPostgres(
  name = 'test',
  opts: { durable?: boolean } = {},
): Promise<PostgresCluster> {
  const unavailable = postgresUnavailable();
  if (unavailable) throw new Error(`cannot start PostgreSQL: ${unavailable}`);
  const bin = binDir()!;
  const ids = await postgresIds();
  const source = await template(bin, ids);
  const tmp = await makeTempDir(`postbote-pg-${name.replace(/[^a-z0-9]/gi, '').slice(0, 12)}`);
  await run('cp', ['-a', `${source}/.`, tmp.path]);
  await chownP(tmp.path, ids.uid, ids.gid);
  const data = path.join(tmp.path, 'data');
  const sock = path.join(tmp.path, 'sock');
  await mkdir(sock);
  await chownP(sock, ids.uid, ids.gid);
  const password = (await readFile(path.join(tmp.path, 'pw'), 'utf8')).trim();
  const caFile = path.join(tmp.path, 'server.crt');
  const keyFile = path.join(tmp.path, 'server.key');
  let output = '';
  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    port = await freePort();
    output = '';
    child = spawn(
      'setpriv',
      [
        '--reuid=postgres',
        '--regid=postgres',
        '--init-groups',
        path.join(bin, 'postgres'),
        '-D',
        data,
        '-c',
        'listen_addresses=127.0.0.1',
        '-p',
        String(port),
        '-k',
        sock,
        '-c',
        'ssl=on',
        '-c',
        `ssl_cert_file=${caFile}`,
        '-c',
        `ssl_key_file=${keyFile}`,
        // Test data need not survive a power cut of the test machine.
        ...(opts.durable ? [] : ['-c', 'fsync=off']),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const proc = child;
    proc.stdout?.on('data', (d) => {
      output += d;
    });
    proc.stderr?.on('data', (d) => {
      output += d;
    });
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    // The port opens before recovery is over ("the database system is starting up"): wait for the log line.
    const ready = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), STARTUP_TIMEOUT_MS);
      const check = () => {
        if (/ready to accept connections/.test(output)) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      proc.stderr?.on('data', check);
      proc.stdout?.on('data', check);
    });
    const up = await Promise.race([ready, exited.then(() => false)]);
    if (up) await waitForPort(port, '127.0.0.1', STARTUP_TIMEOUT_MS);
    if (up) break;
    if (attempt === START_ATTEMPTS || !/already in use/.test(output)) {
      await tmp.remove();
      throw new Error(`PostgreSQL did not start:\n${output}`);
    }
  }
  const server = child!;
  // A test file that dies without stop() must not leave a server behind.
  const killOnExit = () => server.kill('SIGKILL');
  process.once('exit', killOnExit);
  const url = (database: string, withPassword = true) =>
    `postgres://postgres${withPassword ? `:${password}` : ''}@127.0.0.1:${port}/${database}`;
  return {
    host: '127.0.0.1',
    port,
    password,
    caFile,
    url,
    async createDatabase(prefix = 'pb') {
      const db = `${prefix}_${process.pid}_${++counter}`;
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${db}`);
      } finally {
        await client.end();
      }
      return url(db);
    },
    log: () => output,
    async stop() {
      process.off('exit', killOnExit);
      if (server.exitCode === null && server.signalCode === null) {
        const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
        server.kill('SIGINT'); // fast shutdown
        const timer = setTimeout(() => server.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }
      await tmp.remove();
    },
  };
}
