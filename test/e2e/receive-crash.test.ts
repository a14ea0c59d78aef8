// Crash safety of the receive connector: `postbote run` (listener only, `mailboxes: []`) is killed
// with SIGKILL while a client is in the middle of DATA. The client must not have seen a 250, and the
// recipient's new/ must hold only the complete message delivered before, never a half-written one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, makeTempDir, type TempDir, waitForPort } from '../support/ports.js';
import { CLI, ROOT, writeConfig } from './helpers.js';
import { SmtpSocket } from './receive-dialog.js';

const LINE = `${'z'.repeat(76)}\r\n`;
// Big enough that half of it is on disk in tmp/ long before the end: 8 MB.
const BIG_LINES = (8 * 1024 * 1024) / LINE.length;
// tsx start-up plus the store's migration; generous for a loaded CI machine.
const START_TIMEOUT_MS = 60_000;
const TMP_WAIT_MS = 30_000;

let tmp: TempDir;
let port: number;
let config: string;

before(async () => {
  tmp = await makeTempDir('postbote-receive-crash-');
  port = await freePort();
  config = await writeConfig(
    tmp.path,
    `
state: ${tmp.path}/state
target: { host: 127.0.0.1, port: 25, tls: none, helo: postbote.test }
mailboxes: []
receive:
  - name: crash
    bindings: ["127.0.0.1:${port}"]
    remoteIpRanges: [127.0.0.2]
    acceptedDomains: [corp.local]
    maxMessageSize: 64MB
    deliver: { maildir: ${tmp.path}/mail }
`,
  );
});
after(async () => {
  await tmp?.remove();
});

function files(sub: string): string[] {
  try {
    return readdirSync(join(tmp.path, 'mail', 'kim@corp.local', sub));
  } catch {
    return [];
  }
}

async function transaction(s: SmtpSocket): Promise<void> {
  assert.match(await s.command('MAIL FROM:<s@example.net>'), /^250 /);
  assert.match(await s.command('RCPT TO:<kim@corp.local>'), /^250 /);
  assert.match(await s.command('DATA'), /^354 /);
}

test('kill -9 during DATA: no 250 for the client, nothing half-written in new/', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', '-c', config], {
    cwd: ROOT,
    env: { ...process.env, POSTBOTE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  try {
    await waitForPort(port, '127.0.0.1', START_TIMEOUT_MS);
    const s = await SmtpSocket.open({ port, localAddress: '127.0.0.2' });
    assert.match(await s.read(), /^220 /, stderr);
    await s.command('EHLO client.test');

    // A complete message first: it must survive the crash untouched.
    const complete = 'Subject: complete\r\n\r\nfirst message\r\n';
    await transaction(s);
    s.write(`${complete}.\r\n`);
    assert.match(await s.read(), /^250 /);
    assert.equal(files('new').length, 1);

    // Then a large one, killed half-way: once part of it is in tmp/, SIGKILL.
    await transaction(s);
    s.write('Subject: interrupted\r\n\r\n');
    const half = LINE.repeat(BIG_LINES / 2);
    s.write(half);
    const deadline = Date.now() + TMP_WAIT_MS;
    const inTmp = () =>
      files('tmp').some((f) => statSync(join(tmp.path, 'mail', 'kim@corp.local', 'tmp', f)).size > 0);
    while (!inTmp()) {
      assert.ok(Date.now() < deadline, `nothing reached tmp/ within ${TMP_WAIT_MS} ms`);
      await sleep(20);
    }
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const reply = await s.read();
    s.close();
    assert.equal(reply, '', `the client got a reply after the kill: ${reply}`);

    const inNew = files('new');
    assert.equal(inNew.length, 1, inNew.join(', '));
    const stored = readFileSync(join(tmp.path, 'mail', 'kim@corp.local', 'new', inNew[0]!), 'latin1');
    assert.ok(stored.endsWith(complete), 'new/ holds only the complete first message');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
});
