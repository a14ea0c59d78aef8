// Crash safety over IMAP: `postbote fetch` from Dovecot IMAPS is killed with SIGKILL at random moments
// mid-pass, restarted, then run to the end. Losses must be 0; duplicates only from a kill between the
// target's 250 and the store's commit (at most one per kill). A smaller variant of crash.test.ts.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Dovecot, startDovecot } from '../support/dovecot.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { CLI, ROOT, runCli, writeConfig } from './helpers.js';

const MESSAGES = 800;
const KILLS = 8;

function corpus(): Buffer[] {
  return Array.from({ length: MESSAGES }, (_, i) => {
    // Every 50th message is 1.5 MB, so kills land in multi-window FETCHes as well as small ones.
    const size = i % 50 === 0 ? 1_500_000 : 2_000 + ((i * 7919) % 20_000);
    const line = `line of message ${i} `.padEnd(76, 'x');
    return Buffer.from(
      `From: s${i}@example.net\r\nTo: crash@example.com\r\nSubject: imap crash ${i}\r\n` +
        `Message-ID: <imap-crash-${i}@example.net>\r\n\r\n${`${line}\r\n`.repeat(Math.ceil(size / 78))}`,
    );
  });
}

let dovecot: Dovecot;
let receiver: Receiver;
let tmp: TempDir;
let config: string;

before(async () => {
  dovecot = await startDovecot({ users: ['crash'], name: 'imap-crash' });
  receiver = await startReceiver();
  tmp = await makeTempDir('postbote-imap-crash-');
  await dovecot.seed('crash', corpus());
  config = await writeConfig(
    tmp.path,
    `
state: ${tmp.path}/state
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
mailboxes:
  - name: crash
    protocol: imap
    host: localhost
    ca: ${dovecot.caFile}
    port: ${dovecot.ports.imaps}
    user: crash
    password: ${dovecot.password('crash')}
    deliverTo: [crash@corp.local]
`,
  );
});
after(async () => {
  await dovecot?.stop();
  await receiver?.stop();
  await tmp?.remove();
});

function start(): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', CLI, 'fetch', '-c', config], {
    cwd: ROOT,
    env: { ...process.env, POSTBOTE_LOG_LEVEL: 'silent' },
    stdio: 'ignore',
  });
}

test(`IMAP: kill -9 at ${KILLS} random moments loses no message`, async (t) => {
  let kills = 0;
  let rng = 4242;
  const random = () => {
    rng = (rng * 1103515245 + 12345) % 2 ** 31;
    return rng / 2 ** 31;
  };
  for (let attempt = 0; kills < KILLS && attempt < 3 * KILLS; attempt++) {
    const child = start();
    let finished = false;
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => {
        finished = true;
        resolve(code);
      }),
    );
    // Mid-pass whatever the machine's speed: after this run delivered two messages, within 250 ms.
    const before = receiver.received.length;
    while (!finished && receiver.received.length < before + 2) await sleep(10);
    await Promise.race([exited, sleep(random() * 250)]);
    if (finished) {
      if ((await exited) === 0) break;
      continue;
    }
    child.kill('SIGKILL');
    await exited;
    kills++;
  }
  const final = await runCli(['fetch', '-c', config]);
  assert.equal(final.code, 0, final.stdout + final.stderr);

  const seen = new Map<string, number>();
  for (const m of receiver.received) {
    const id = /^Message-ID: (<[^>]+>)/im.exec(m.raw.subarray(0, 4096).toString())?.[1] ?? '?';
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  let losses = 0;
  for (let i = 0; i < MESSAGES; i++) if (!seen.has(`<imap-crash-${i}@example.net>`)) losses++;
  const duplicates = [...seen.values()].reduce((n, c) => n + c - 1, 0);
  t.diagnostic(`kills: ${kills}, messages: ${MESSAGES}, losses: ${losses}, duplicates: ${duplicates}`);
  assert.equal(losses, 0);
  assert.ok(kills >= 5, `only ${kills} kills landed mid-pass`);
  assert.ok(duplicates <= kills, `${duplicates} duplicates for ${kills} kills`);
  assert.equal(dovecot.count('crash'), 0);
});
