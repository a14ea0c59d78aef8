// Commands beside the service: real `postbote run`, `fetch`, `route`, `queue` and `backup` processes on
// one state. With the service running the commands go through its control socket and print what they
// print alone, with the same exit codes; without it (or after it was killed) they work on their own.
// A hostile local client on the socket does not hurt the service.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { type Pop3Server, startPop3Server } from '../../src/pop3/server/index.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { CLI, type CliResult, ROOT, runCli, startCli } from './helpers.js';

const PASSWORD = 'control-pw';
const mail = (tag: string, n: number) =>
  Buffer.from(
    `From: sender${n}@example.net\r\nTo: ${tag}@example.com\r\nSubject: ${tag} ${n} \xe4\r\n` +
      `Message-ID: <${tag}-${n}@example.net>\r\n\r\nbody ${n} caf\xe9\r\n`,
    'latin1',
  );

let pop3: Pop3Server;
let receiver: Receiver;
let tmp: TempDir;
let file: string;
let state: string;
const originals = new Map<string, Buffer>();

before(async () => {
  tmp = await makeTempDir('postbote-control-');
  receiver = await startReceiver({
    // defer@ waits (451), reject@ is refused (550, no fallback: quarantined); others are accepted.
    onRcpt: (address) =>
      address.startsWith('defer@')
        ? { code: 451, message: '4.3.0 mailbox busy, try later' }
        : address.startsWith('reject@')
          ? { code: 550, message: '5.1.1 no such user here' }
          : undefined,
  });
  const users: Record<string, { password: string; messages: Buffer[] }> = {};
  for (const [tag, count] of [
    ['info', 2],
    ['bad', 1],
  ] as const) {
    const messages = Array.from({ length: count }, (_, i) => mail(tag, i));
    for (const [i, m] of messages.entries()) originals.set(`<${tag}-${i}@example.net>`, m);
    users[`${tag}@example.com`] = { password: PASSWORD, messages };
  }
  pop3 = await startPop3Server({ users });
  state = join(tmp.path, 'state');
  file = join(tmp.path, 'postbote.yaml');
  await writeFile(
    file,
    `state: ${state}
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
delivery: { retry: { initial: 1h, max: 2h } }
scheduler: { interval: 1h }
mailboxes:
  - { name: info, host: 127.0.0.1, port: ${pop3.port}, tls: none, user: info@example.com, password: ${PASSWORD}, deliverTo: [defer@corp.local] }
  - { name: bad, host: 127.0.0.1, port: ${pop3.port}, tls: none, user: bad@example.com, password: ${PASSWORD}, deliverTo: [reject@corp.local] }
`,
  );
});
after(async () => {
  await pop3?.close();
  await receiver?.stop();
  await tmp?.remove();
});

function startService(): { child: ChildProcess; pid: number; result: Promise<CliResult> } {
  return startCli(['run', '-c', file]);
}

const sock = () => join(state, 'postbote.sock');

async function listening(): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!existsSync(sock())) {
    if (Date.now() > deadline) throw new Error('the service never opened its control socket');
    await sleep(50);
  }
}

const cli = (...args: string[]) => runCli([...args, '-c', file]);

/** A raw client on the control socket: what it sends, and everything the service answers until it closes. */
function raw(send: (s: ReturnType<typeof connect>) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(sock());
    let got = '';
    s.on('connect', () => send(s));
    s.on('data', (d) => {
      got += d;
    });
    s.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e),
    );
    s.on('close', () => resolve(got));
  });
}

const stderrOf = (replies: string) =>
  replies
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { t: string; d?: string; code?: number })
    .map((r) => (r.t === 'e' ? Buffer.from(r.d!, 'base64').toString() : r.t === 'x' ? `exit ${r.code}` : ''))
    .join('');

const local: Record<string, CliResult> = {};
let ids: { deferred: number[]; quarantined: number[] };

test('without a service, fetch and queue work on their own', async () => {
  const fetch = await cli('fetch');
  assert.equal(fetch.code, 1, fetch.stdout + fetch.stderr);
  assert.match(
    fetch.stdout,
    /^info: pending - 2 on server, 2 fetched .* 2 deferred, 0 quarantined, 0 removed, 2 waiting/m,
  );
  assert.match(fetch.stdout, /^bad: ok - 1 on server, 1 fetched .* 1 quarantined, 1 removed, 0 waiting/m);
  local.list = await cli('queue');
  assert.equal(local.list.code, 0, local.list.stderr);
  assert.match(local.list.stdout, /^3 deferred or quarantined messages/);
  assert.match(local.list.stdout, /deferred \(mailbox info\) since .*, 1 attempt, next attempt \d{4}-/);
  assert.match(local.list.stdout, /why: .*451/);
  assert.match(local.list.stdout, /why: .*550/);
  local.json = await cli('queue', '--json');
  const rows = (JSON.parse(local.json.stdout) as { messages: Array<{ id: number; state: string }> }).messages;
  ids = {
    deferred: rows.filter((r) => r.state === 'deferred').map((r) => r.id),
    quarantined: rows.filter((r) => r.state === 'quarantined').map((r) => r.id),
  };
  assert.equal(ids.deferred.length, 2);
  assert.equal(ids.quarantined.length, 1);
  local.quarantined = await cli('queue', '--state', 'quarantined', '--json');
  assert.equal((JSON.parse(local.quarantined.stdout) as { total: number }).total, 1);
  local.show = await cli('queue', 'show', String(ids.deferred[0]));
  assert.equal(local.show.code, 0, local.show.stderr);
  assert.match(local.show.stdout, /^message \d+: deferred \(mailbox info/);
  assert.match(local.show.stdout, /defer@corp\.local: pending .* - 451 4\.3\.0 mailbox busy, try later/);
  assert.match(local.show.stdout, /attempts:\n {2}\d{4}-.* deferred: /);
  assert.match(local.show.stdout, /headers:\n {2}From: sender/);
  local.missing = await cli('queue', 'show', '999999');
  assert.equal(local.missing.code, 1);
  local.usage = await cli('queue', 'show', 'abc');
  assert.equal(local.usage.code, 2, local.usage.stderr);
  local.badState = await cli('queue', '--state', 'delivered');
  assert.equal(local.badState.code, 2, local.badState.stderr);
});

test('beside a running service, the commands go through its socket and print the same', async () => {
  const service = startService();
  try {
    await listening();
    assert.equal(statSync(sock()).mode & 0o777, 0o600, 'only the service’s user may connect');
    // Same output, same exit codes as alone.
    for (const [name, args] of [
      ['list', ['queue']],
      ['json', ['queue', '--json']],
      ['quarantined', ['queue', '--state', 'quarantined', '--json']],
      ['show', ['queue', 'show', String(ids.deferred[0])]],
      ['missing', ['queue', 'show', '999999']],
      ['usage', ['queue', 'show', 'abc']],
      ['badState', ['queue', '--state', 'delivered']],
    ] as const) {
      const r = await cli(...args);
      assert.deepEqual(
        { code: r.code, stdout: r.stdout, stderr: r.stderr },
        { code: local[name]!.code, stdout: local[name]!.stdout, stderr: local[name]!.stderr },
        name,
      );
    }
    // fetch with --wait 0 does not refuse (exit 3): the service runs the pass and this process prints it.
    const fetch = await cli('fetch', '--wait', '0');
    assert.equal(fetch.code, 1, fetch.stdout + fetch.stderr);
    assert.match(
      fetch.stdout,
      /^info: pending - 2 on server, 0 fetched .* 0 delivered, 2 deferred, .* 2 waiting/m,
    );
    assert.match(fetch.stdout, /^bad: ok - 0 on server/m);
    assert.equal(fetch.stderr, '');
    assert.match(readFileSync(join(state, 'postbote.pid'), 'utf8'), new RegExp(`"pid":${service.pid},`));
    const json = await cli('fetch', '--json', '-m', 'bad');
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { ok: boolean }).ok, true);
    const unknown = await cli('fetch', '-m', 'nosuch');
    assert.equal(unknown.code, 2);
    // Checked before the service is asked: the same words with or without a service.
    assert.match(unknown.stderr, /^postbote: no mailbox named nosuch - enabled mailboxes: info, bad/);
    const route = await cli('route', '-m', 'info');
    assert.equal(route.code, 0, route.stderr);
    assert.match(route.stdout, /^info: 2 messages on the server/);
    assert.match(route.stdout, /already fetched: deferred/);
    // The bytes as fetched, 8-bit and all.
    const exported = await new Promise<Buffer>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CLI, 'queue', 'export', String(ids.quarantined[0]), '-c', file],
        {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const chunks: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => chunks.push(c));
      child.on('error', reject);
      child.on('close', () => resolve(Buffer.concat(chunks)));
    });
    assert.ok(
      exported.equals(originals.get('<bad-0@example.net>')!),
      'exported bytes equal the fetched message',
    );

    // A consistent backup taken by the service, restored into a new folder: the same records and spool.
    const backupDir = join(tmp.path, 'backup-live');
    const backup = await cli('backup', backupDir);
    assert.equal(backup.code, 0, backup.stderr);
    assert.match(backup.stdout, /: 3 records, 3 spool files/);
    const restored = join(tmp.path, 'restored-live');
    restore(backupDir, restored);
    assertSameState(state, restored);

    // Actions through the service, logged with the OS user; the service delivers a release at once.
    const release = await cli('queue', 'release', String(ids.quarantined[0]), '--to', 'ok@corp.local');
    assert.equal(release.code, 0, release.stderr);
    assert.match(release.stdout, /released to ok@corp\.local; now spooled \(the service delivers it now\)/);
    await receiver.waitFor(1);
    assert.deepEqual(receiver.received.at(-1)!.to, ['ok@corp.local']);
    const again = await cli('queue', 'release', String(ids.quarantined[0]));
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is (spooled|delivered); this works for quarantined or deferred messages/);
    const ask = await cli('queue', 'delete', String(ids.deferred[0]));
    assert.equal(ask.code, 2, 'no terminal to ask: not deleted without --yes');
    const del = await cli('queue', 'delete', String(ids.deferred[0]), '--yes');
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /deleted; now deleted/);
    const shown = await cli('queue', 'show', String(ids.deferred[0]));
    assert.match(shown.stdout, /: deleted/);
    assert.match(shown.stdout, /deleted by \S+/);
    const retry = await cli('queue', 'retry', '--all');
    assert.equal(retry.code, 0, retry.stderr);
    assert.match(retry.stdout, new RegExp(`message ${ids.deferred[1]}: retry requested`));
  } finally {
    service.child.kill('SIGTERM');
  }
  const end = await service.result;
  assert.equal(end.code, 0, end.stderr);
  assert.equal(existsSync(sock()), false, 'the socket goes with the service');
});

test('a hostile client on the socket (huge line, garbage, idle connections) does not hurt the service', async () => {
  const service = startService();
  try {
    await listening();
    const huge = await raw((s) => s.write('x'.repeat(200_000)));
    assert.match(stderrOf(huge), /request too long/);
    assert.match(stderrOf(huge), /exit 2$/);
    const garbage = await raw((s) => s.write('\x00\xff garbage\n'));
    assert.match(stderrOf(garbage), /bad control request: not JSON\nexit 2$/);
    const evil = await raw((s) => s.write('{"v":1,"op":"constructor","args":{},"user":"x"}\n'));
    assert.match(stderrOf(evil), /unknown op/);
    // Idle connections: bounded in number, and closed when no request comes.
    const idle = Array.from({ length: 8 }, () => connect(sock()));
    await Promise.all(idle.map((s) => new Promise((r) => s.once('connect', r))));
    await sleep(200);
    const ninth = await raw(() => undefined);
    assert.match(stderrOf(ninth), /already serves 8 control connections/);
    const closed = await Promise.race([
      Promise.all(idle.map((s) => new Promise((r) => s.once('close', r)))).then(() => true),
      sleep(10_000).then(() => false),
    ]);
    assert.equal(closed, true, 'idle connections are dropped after the request timeout');
    // A client on a terminal gets the service's progress line on its stderr, as a local fetch draws it.
    const progress = await raw((s) =>
      s.write(
        `${JSON.stringify({ v: 1, op: 'fetch', args: { mailbox: ['bad'] }, user: 'tester', interactive: true })}\n`,
      ),
    );
    assert.ok(
      stderrOf(progress).endsWith('\r\x1b[K0/0 new messages handled, 0.0 MB (0 on servers)\nexit 0'),
      stderrOf(progress),
    );
    const list = await cli('queue', '--json');
    assert.equal(list.code, 0, list.stderr);
    assert.equal(service.child.exitCode, null, 'the service still runs');
  } finally {
    service.child.kill('SIGKILL');
  }
  await service.result;
  // A socket left by a killed service: the next command sees no one listens and works alone.
  assert.equal(existsSync(sock()), true);
  const alone = await cli('queue', '--json', '--wait', '0');
  assert.equal(alone.code, 0, alone.stderr);
});

test('backup without a service takes the lock; restored into a new folder it has the same records and spool', async () => {
  const dir = join(tmp.path, 'backup-offline');
  const r = await cli('backup', dir);
  assert.equal(r.code, 0, r.stderr);
  const restored = join(tmp.path, 'restored-offline');
  restore(dir, restored);
  assertSameState(state, restored);
  const notEmpty = await cli('backup', dir);
  assert.equal(notEmpty.code, 2, 'a backup never overwrites another');
  // The restored state works: queue on it lists what the original lists.
  const cfg = join(tmp.path, 'restored.yaml');
  await writeFile(cfg, readFileSync(file, 'utf8').replace(`state: ${state}`, `state: ${restored}`));
  const a = await cli('queue', '--json');
  const b = await runCli(['queue', '--json', '-c', cfg]);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(b.stdout, a.stdout);
});

/** The README's restore: the backup's store and spool copied into an empty state folder. */
function restore(from: string, to: string): void {
  cpSync(join(from, 'postbote.sqlite'), join(to, 'postbote.sqlite'));
  cpSync(join(from, 'spool'), join(to, 'spool'), { recursive: true });
}

function assertSameState(a: string, b: string): void {
  const read = (dir: string) => {
    const db = new Database(join(dir, 'postbote.sqlite'), { readonly: true });
    try {
      return {
        messages: db.prepare('SELECT * FROM messages ORDER BY id').all() as Array<{
          spool_key: string | null;
          sha256: string;
        }>,
        attempts: db.prepare('SELECT * FROM attempts ORDER BY rowid').all(),
      };
    } finally {
      db.close();
    }
  };
  const x = read(a);
  const y = read(b);
  assert.deepEqual(y, x);
  let files = 0;
  for (const m of x.messages) {
    if (!m.spool_key) continue;
    const bytes = readFileSync(join(b, 'spool', 'msg', m.spool_key));
    assert.ok(bytes.equals(readFileSync(join(a, 'spool', 'msg', m.spool_key))), m.spool_key);
    files++;
  }
  assert.ok(files > 0);
}
