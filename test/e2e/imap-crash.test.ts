// Crash safety over IMAP: `postbote fetch` from Dovecot IMAPS is killed with SIGKILL at random moments
// mid-pass, restarted, then run to the end. Losses must be 0; duplicates only from a kill between the
// target's 250 and the store's commit (at most one per kill). A smaller variant of crash.test.ts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Dovecot, startDovecot } from '../support/dovecot.js';
import { crashCorpus, deliveryCount, killLoop } from '../support/kill-loop.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { runCli, writeConfig } from './helpers.js';

// Every 50th message is 1.5 MB, so kills land in multi-window FETCHes as well as small ones.
const CORPUS = { prefix: 'imap-crash', count: 800, bigEvery: 50, bigSize: 1_500_000 };
const KILLS = 8;

let dovecot: Dovecot;
let receiver: Receiver;
let tmp: TempDir;
let config: string;

before(async () => {
  dovecot = await startDovecot({ users: ['crash'], name: 'imap-crash' });
  receiver = await startReceiver();
  tmp = await makeTempDir('postbote-imap-crash-');
  await dovecot.seed('crash', crashCorpus(CORPUS));
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

test(`IMAP: kill -9 at ${KILLS} random moments loses no message`, async (t) => {
  const kills = await killLoop(config, receiver, KILLS, 4242);
  const final = await runCli(['fetch', '-c', config]);
  assert.equal(final.code, 0, final.stdout + final.stderr);

  const { losses, duplicates } = deliveryCount(receiver, CORPUS);
  t.diagnostic(`kills: ${kills}, messages: ${CORPUS.count}, losses: ${losses}, duplicates: ${duplicates}`);
  assert.equal(losses, 0);
  assert.ok(kills >= 5, `only ${kills} kills landed mid-pass`);
  assert.ok(duplicates <= kills, `${duplicates} duplicates for ${kills} kills`);
  assert.equal(dovecot.count('crash'), 0);
});
