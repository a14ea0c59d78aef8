// A folder whose UIDVALIDITY changes (recreated, server migrated) lists every message under a new uid.
// Known messages must be recognised by Message-ID, size and date and not delivered again; only new
// mail is. Dovecot's UIDVALIDITY is changed the way a migration does it: a new dovecot-uidlist header
// and no index (Dovecot then rebuilds it from the Maildir files, which keep their dates).
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeMessage } from '../support/corpus.js';
import { type Dovecot, startDovecot } from '../support/dovecot.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { runCli, writeConfig } from './helpers.js';

let dovecot: Dovecot;
let receiver: Receiver;
let tmp: TempDir;

before(async () => {
  dovecot = await startDovecot({ users: ['uidv'], name: 'imap-uidv' });
  receiver = await startReceiver();
  tmp = await makeTempDir('postbote-imap-uidv-');
});
after(async () => {
  await dovecot?.stop();
  await receiver?.stop();
  await tmp?.remove();
});

/** Gives the Maildir a new UIDVALIDITY; returns the old and the new value. */
async function newUidValidity(maildir: string): Promise<[number, number]> {
  const file = join(maildir, 'dovecot-uidlist');
  const text = await readFile(file, 'utf8');
  const old = Number(/^\d+ V(\d+)/.exec(text)?.[1]);
  assert.ok(old > 0, `no UIDVALIDITY in ${text.slice(0, 80)}`);
  await writeFile(file, text.replace(/^(\d+) V\d+/, `$1 V${old + 1000}`));
  for (const f of await readdir(maildir)) if (f.startsWith('dovecot.index')) await rm(join(maildir, f));
  return [old, old + 1000];
}

test('a new UIDVALIDITY does not redeliver the folder: known mail is recognised, new mail delivered once', async () => {
  const mail = (n: number) => makeMessage({ size: 2000 + n, seed: 100 + n, subject: `uidv ${n}` });
  await dovecot.seed('uidv', [mail(1), mail(2), mail(3)]);
  const file = await writeConfig(
    tmp.path,
    `
state: ${tmp.path}/state
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
mailboxes:
  - name: uidv
    protocol: imap
    host: localhost
    port: ${dovecot.ports.imaps}
    ca: ${dovecot.caFile}
    user: uidv
    password: ${dovecot.password('uidv')}
    deliverTo: [uidv@corp.local]
    keep: true
`,
  );
  const fetch = async () => {
    const r = await runCli(['fetch', '-c', file, '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    return {
      summary: JSON.parse(r.stdout).mailboxes[0] as { fetched: number; delivered: number },
      log: r.stderr,
    };
  };
  assert.equal((await fetch()).summary.delivered, 3);

  const [old, now] = await newUidValidity(dovecot.maildir('uidv'));
  await dovecot.seed('uidv', [mail(4)]);
  const second = await fetch();
  assert.equal(second.summary.fetched, 1, `only the new message is fetched\n${second.log}`);
  assert.equal(second.summary.delivered, 1);
  assert.match(
    second.log,
    new RegExp(`UIDVALIDITY changed from ${old} to ${now}.*3 known messages recognised`),
  );

  const third = await fetch();
  assert.equal(third.summary.fetched, 0, 'the recognised records carry the new uids');
  const subjects = receiver
    .byRecipient('uidv@corp.local')
    .map((m) => /Subject: (.*)\r\n/.exec(m.toString())?.[1])
    .sort();
  assert.deepEqual(subjects, ['uidv 1', 'uidv 2', 'uidv 3', 'uidv 4']);
});
