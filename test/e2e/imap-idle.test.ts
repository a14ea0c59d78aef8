// IMAP IDLE push: `postbote run` with a one-hour interval delivers new mail in INBOX and a second folder
// at once (Dovecot), a mailbox with idle: false waits for its interval; a server without IDLE is watched
// by NOOP; a dropped watching connection comes back with growing waits; scheduler.idleConnections caps
// the watching connections per host, and a reload that removes a mailbox frees its slot.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mailboxPlan } from '../../src/app/runtime.js';
import { watchImap } from '../../src/imap/watch.js';
import { silentLogger } from '../../src/log.js';
import { makeMessage } from '../support/corpus.js';
import { type Dovecot, dovecotUnavailable, startDovecot } from '../support/dovecot.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { CLI, ROOT } from './helpers.js';
import { acceptXoauth2, type FakeImap, startFakeImap } from './imap-fake-server.js';
import { oauthImapWorld } from './oauth-imap-world.js';

const mail = (seed: number) => makeMessage({ size: 1200, seed, subject: `push ${seed}` });

let tmp: TempDir;
let receiver: Receiver;
before(async () => {
  tmp = await makeTempDir('postbote-idle-');
  receiver = await startReceiver();
});
after(async () => {
  await receiver?.stop();
  await tmp?.remove();
});

function run(file: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', '-c', file], {
    cwd: ROOT,
    env: { ...process.env, POSTBOTE_LOG_LEVEL: 'info' },
    stdio: 'ignore',
  });
  after(() => child.kill('SIGKILL'));
  return child;
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

const delivered = (user: string) => receiver.byRecipient(`${user}@corp.local`).length;

describe('IDLE push against Dovecot', { skip: dovecotUnavailable() }, () => {
  let dovecot: Dovecot;
  before(async () => {
    dovecot = await startDovecot({ users: ['push', 'nopush'], name: 'imap-idle' });
  });
  after(() => dovecot?.stop());

  test('with a one-hour interval, new mail in INBOX and in a second folder is delivered at once; idle: false waits', async () => {
    await dovecot.folder('push', 'Lists');
    const box = (user: string, extra: string) => `
  - name: ${user}
    protocol: imap
    host: localhost
    port: ${dovecot.ports.imaps}
    tls: tls
    ca: ${dovecot.caFile}
    user: ${user}
    password: ${dovecot.password(user)}
    deliverTo: [${user}@corp.local]${extra}`;
    const file = join(tmp.path, 'dovecot.yaml');
    await writeFile(
      file,
      `state: ${tmp.path}/state-dovecot
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
scheduler: { interval: 1h }
mailboxes:${box('push', '\n    folders: [INBOX, Lists]')}${box('nopush', '\n    idle: false')}
`,
    );
    // One message each before the start: the first poll takes them, so what follows is pushed or waits.
    await dovecot.seed('push', [mail(1)]);
    await dovecot.seed('nopush', [mail(2)]);
    run(file);
    await until('the first poll', () => delivered('push') === 1 && delivered('nopush') === 1);
    await sleep(500);

    await dovecot.seed('push', [mail(3)]);
    await dovecot.seed('nopush', [mail(4)]);
    await until('INBOX pushed', () => delivered('push') === 2, 15_000);
    await dovecot.seedFolder('push', 'Lists', [mail(5)]);
    await until('Lists pushed', () => delivered('push') === 3, 15_000);
    // The same mail sat in the idle: false mailbox all along: its next poll is an hour away.
    await sleep(1000);
    assert.equal(delivered('nopush'), 1, 'idle: false polls on the interval only');
    assert.equal(dovecot.count('push'), 0, 'delivered mail was deleted by the pass, not the watcher');
  });
});

/** Answers IDLE like a server (+, then OK after DONE) and keeps count of the connections idling. */
function idleServer(fake: FakeImap) {
  const state = {
    idling: new Set<Socket>(),
    users: new Map<Socket, string>(),
    peak: 0,
    idles: 0,
    logins: [] as number[],
    refuseLogins: 0,
  };
  fake.caps = 'IMAP4rev1 UIDPLUS MOVE IDLE';
  fake.hook = (cmd, socket) => {
    if (cmd.name === 'LOGIN') {
      state.logins.push(Date.now());
      state.users.set(socket, /LOGIN "?([^" ]+)/i.exec(cmd.line)?.[1] ?? '');
      if (state.refuseLogins > 0) {
        state.refuseLogins--;
        socket.destroy();
        return true;
      }
      return false;
    }
    if (cmd.name !== 'IDLE') return false;
    state.idles++;
    state.idling.add(socket);
    state.peak = Math.max(state.peak, state.idling.size);
    socket.write('+ idling\r\n');
    const done = (chunk: Buffer) => {
      if (!chunk.toString('latin1').includes('DONE\r\n')) return;
      socket.off('data', done);
      state.idling.delete(socket);
      socket.write(`${cmd.tag} OK idle done\r\n`);
    };
    socket.on('data', done);
    socket.once('close', () => state.idling.delete(socket));
    return true;
  };
  return state;
}

const watchOptions = (port: number) => ({
  host: '127.0.0.1',
  port,
  tls: 'none' as const,
  tlsVerify: false,
  user: 'u',
  password: 'p',
  auth: 'auto' as const,
  folders: ['INBOX'],
  exclude: [],
  afterDelivery: 'delete' as const,
  timeouts: {},
  logger: silentLogger(),
  acquire: async () => () => undefined,
});

describe('IDLE push against a scripted server', () => {
  test('a server without IDLE is watched by NOOP when idle: true, and left to the interval when unset', async () => {
    const fake = await startFakeImap([]);
    // Each NOOP reports the folder's size, as a server does with new mail.
    fake.hook = (cmd, socket) => {
      if (cmd.name === 'NOOP') socket.write(`* ${fake.messages.length} EXISTS\r\n`);
      return false;
    };
    const seen: string[] = [];
    const watch = watchImap({
      ...watchOptions(fake.port),
      mode: 'always',
      noopMs: 50,
      onNew: (f) => seen.push(f),
    });
    assert.deepEqual(await watch.folders, ['INBOX']);
    await until('NOOP polling', () => fake.commands.filter((c) => c === 'NOOP').length >= 2, 5000);
    assert.deepEqual(seen, []);
    fake.messages.push({ uid: 1, data: mail(6), flags: new Set() });
    await until('new mail seen by NOOP', () => seen.length === 1, 5000);
    assert.ok(!fake.commands.includes('IDLE'));
    await watch.stop();

    const before = fake.commands.length;
    const auto = watchImap({ ...watchOptions(fake.port), mode: 'auto', noopMs: 50, onNew: () => undefined });
    await auto.folders;
    await sleep(300);
    assert.ok(!fake.commands.slice(before).includes('NOOP'), 'unset idle: no NOOP loop without IDLE');
    await auto.stop();
    await fake.stop();
  });

  test('IDLE is renewed on the same connection after reidleMs (25 minutes in service), without a new login', async () => {
    const fake = await startFakeImap([]);
    const state = idleServer(fake);
    const watch = watchImap({
      ...watchOptions(fake.port),
      mode: 'auto',
      reidleMs: 150,
      onNew: () => undefined,
    });
    await until('three IDLEs', () => state.idles >= 3, 5000);
    assert.equal(state.logins.length, 1);
    assert.equal(state.peak, 1);
    await watch.stop();
    await fake.stop();
  });

  test('a dropped watching connection is reopened with growing waits, then announces the mail that came meanwhile', async () => {
    const fake = await startFakeImap([]);
    const state = idleServer(fake);
    const seen: string[] = [];
    const watch = watchImap({
      ...watchOptions(fake.port),
      mode: 'auto',
      reconnectBaseMs: 100,
      onNew: (f) => seen.push(f),
    });
    await until('IDLE', () => state.idling.size === 1, 5000);
    state.refuseLogins = 3;
    fake.messages.push({ uid: 1, data: mail(7), flags: new Set() });
    for (const s of state.idling) s.destroy();
    await until('IDLE again', () => state.idling.size === 1 && state.logins.length === 5, 10_000);
    const gaps = state.logins.slice(1).map((t, i) => t - state.logins[i]!);
    // Waits of 100 · 2^(n-1) ms after the n-th failure, jittered down to half at most: 400–800 ms after
    // the fourth is always longer than the 100–200 ms after the second.
    assert.ok(gaps[3]! > gaps[1]!, `gaps ${gaps.join(', ')}`);
    assert.deepEqual(seen, ['INBOX'], 'the reopened watch finds the mail that arrived while it was down');
    await watch.stop();
    await fake.stop();
  });

  test('an auth: oauth2 mailbox is watched with a fresh access token as the password, a new one on reconnect', async () => {
    // A 60 s token lifetime is under the refresh margin: each login asks the provider for a new one.
    const w = await oauthImapWorld({ lifetime: 60 });
    const state = idleServer(w.imap);
    const tokens = acceptXoauth2(w.imap);
    const push = mailboxPlan(w.config, w.mailbox, silentLogger()).push;
    assert.ok(push, 'an IMAP mailbox with idle: true has a watcher');
    const watch = push.start({ onNew: () => undefined, acquire: async () => () => undefined });
    await until('IDLE', () => state.idling.size === 1, 5000);
    assert.equal(tokens.length, 1);
    assert.ok(await w.live(tokens[0]!), `the watch logged in with ${tokens[0]}, not an issued token`);
    assert.equal(w.refreshes(), 1);
    for (const s of state.idling) s.destroy();
    await until('IDLE again', () => state.idling.size === 1 && tokens.length === 2, 10_000);
    assert.notEqual(tokens[1], tokens[0], 'the reconnect asked for a new token');
    assert.ok(await w.live(tokens[1]!));
    assert.equal(w.refreshes(), 2);
    assert.equal(state.logins.length, 0, 'never a LOGIN with a password');
    await watch.stop();
    await w.close();
  });

  test('scheduler.idleConnections caps the watching connections per host; a reload removing a mailbox frees its slot', async () => {
    const fake = await startFakeImap([]);
    const state = idleServer(fake);
    const box = (name: string) => `
  - name: ${name}
    protocol: imap
    host: 127.0.0.1
    port: ${fake.port}
    tls: none
    user: ${name}
    password: p
    idle: true
    deliverTo: [${name}@corp.local]`;
    const yaml = (names: string[]) => `state: ${tmp.path}/state-cap
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
scheduler: { interval: 1h, idleConnections: 1 }
mailboxes:${names.map(box).join('')}
`;
    const file = join(tmp.path, 'cap.yaml');
    await writeFile(file, yaml(['first', 'second']));
    const child = run(file);
    await until('one watching connection', () => state.idling.size === 1, 15_000);
    await sleep(1000);
    assert.equal(state.peak, 1, 'never more than idleConnections watching');
    const idlesBefore = state.idles;
    // Whichever mailbox holds the slot, removing it hands the slot to the other.
    const holder = state.users.get([...state.idling][0]!);
    assert.ok(holder === 'first' || holder === 'second', `holder ${holder}`);
    await writeFile(file, yaml([holder === 'first' ? 'second' : 'first']));
    child.kill('SIGHUP');
    await until(
      'the other mailbox watching',
      () => state.idles > idlesBefore && [...state.idling].some((s) => state.users.get(s) !== holder),
      15_000,
    );
    assert.equal(state.peak, 1);
    child.kill('SIGTERM');
    await fake.stop();
  });
});
