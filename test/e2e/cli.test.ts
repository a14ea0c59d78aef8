// The command line as a user meets it: `check` verdicts and hints against real Dovecot and an SMTP
// receiver, a broken configuration, and `run` stopped by SIGTERM in the middle of a pass.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Dovecot, startDovecot } from '../support/dovecot.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { CLI, ROOT, runCli, writeConfig } from './helpers.js';

let dovecot: Dovecot;
let receiver: Receiver;
let tmp: TempDir;

before(async () => {
  dovecot = await startDovecot({ users: ['alice', 'bulk'] });
  receiver = await startReceiver({
    onRcpt: (a) => (a === 'nobody@corp.local' ? { code: 550, message: '5.1.1 User unknown' } : undefined),
  });
  tmp = await makeTempDir('postbote-cli-');
});
after(async () => {
  await dovecot?.stop();
  await receiver?.stop();
  await tmp?.remove();
});

const mailbox = (name: string, extra: string) => `
  - name: ${name}
    host: localhost
    port: ${dovecot.ports.pop3}
    tls: starttls
    user: alice
    deliverTo: [alice@corp.local]
${extra}`;

describe('postbote check', () => {
  test('says ok for a working mailbox and target, and exits 0', async () => {
    const file = await writeConfig(
      tmp.path,
      `state: ${tmp.path}/state-ok
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
mailboxes:${mailbox('good', `    ca: ${dovecot.caFile}\n    password: ${dovecot.password('alice')}`)}`,
    );
    const r = await runCli(['check', '-c', file]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^ok +mailbox good .*logged in \(TLS verified\)/m);
    assert.match(r.stdout, /^ok +recipient alice@corp\.local: RCPT 250/m);
  });

  test('names each failure with the server’s words and the fix, and exits 1', async () => {
    const file = await writeConfig(
      tmp.path,
      `state: ${tmp.path}/state-bad
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
mailboxes:${mailbox('untrusted', `    password: ${dovecot.password('alice')}`)}${mailbox(
        'wrongpass',
        `    ca: ${dovecot.caFile}\n    password: wrong\n    fallback: nobody@corp.local`,
      )}`,
    );
    const r = await runCli(['check', '-c', file, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      results: Array<{ subject: string; ok: boolean; detail: string; hint?: string }>;
    };
    const by = (s: string) => report.results.find((x) => x.subject.startsWith(s))!;
    assert.equal(by('mailbox untrusted').ok, false);
    assert.match(by('mailbox untrusted').hint ?? '', /ca:|tlsVerify/);
    assert.equal(by('mailbox wrongpass').ok, false);
    assert.match(by('mailbox wrongpass').detail, /-ERR/);
    assert.equal(by('recipient nobody@corp.local').ok, false);
    assert.match(by('recipient nobody@corp.local').detail, /550 5\.1\.1 User unknown/);
    assert.equal(by('recipient alice@corp.local').ok, true);
  });
});

test('a broken configuration is refused with file, line and a hint, exit code 2', async () => {
  const file = join(tmp.path, 'broken.yaml');
  await writeFile(file, 'target:\n  host: mail.corp.local\n  prot: 2526\nmailboxes: []\n');
  const r = await runCli(['fetch', '-c', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /broken\.yaml:3:3/);
  assert.match(r.stderr, /port/);
});

test('run: SIGTERM finishes the message in hand, commits, and exits 0; nothing lost or doubled', async () => {
  const total = 3000;
  await dovecot.seed(
    'bulk',
    Array.from({ length: total }, (_, i) =>
      Buffer.from(
        `From: s@example.net\r\nMessage-ID: <bulk-${i}@x>\r\nSubject: ${i}\r\n\r\n${'y'.repeat(4000)}\r\n`,
      ),
    ),
  );
  const file = await writeConfig(
    tmp.path,
    `state: ${tmp.path}/state-run
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
scheduler: { interval: 1h }
mailboxes:
  - name: bulk
    host: localhost
    port: ${dovecot.ports.pop3s}
    tls: tls
    ca: ${dovecot.caFile}
    user: bulk
    password: ${dovecot.password('bulk')}
    deliverTo: [bulk@corp.local]
`,
  );
  const before = receiver.byRecipient('bulk@corp.local').length;
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', '-c', file], {
    cwd: ROOT,
    env: { ...process.env, POSTBOTE_LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await receiver.waitFor(before + 200, 60_000);
  const sentAt = Date.now();
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.ok(Date.now() - sentAt < 15_000, 'stopped promptly');
  const delivered = receiver.byRecipient('bulk@corp.local').length - before;
  assert.ok(delivered < total, 'stopped mid-pass');
  assert.equal(dovecot.count('bulk'), total - delivered, 'what was delivered was removed (QUIT committed)');

  const rest = await runCli(['fetch', '-c', file]);
  assert.equal(rest.code, 0, rest.stdout + rest.stderr);
  const ids = receiver
    .byRecipient('bulk@corp.local')
    .slice(before)
    .map((m) => /Message-ID: (<[^>]+>)/.exec(m.subarray(0, 2000).toString())?.[1]);
  assert.equal(ids.length, total);
  assert.equal(new Set(ids).size, total, 'no duplicates');
  assert.equal(dovecot.count('bulk'), 0);
});
