// `postbote run` as a service: SIGHUP rereads the configuration (a mailbox added is polled, an invalid
// file keeps the running configuration and logs every error) and reopens log.file after logrotate.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startPop3Server } from '../../src/pop3/server/index.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { mail } from './fault-world.js';
import { CLI, ROOT } from './helpers.js';

let tmp: TempDir;
let receiver: Receiver;
let pop3: Awaited<ReturnType<typeof startPop3Server>>;

before(async () => {
  tmp = await makeTempDir('postbote-reload-');
  receiver = await startReceiver({});
  pop3 = await startPop3Server({
    users: {
      one: { password: 'pw', messages: [mail(1)] },
      two: { password: 'pw', messages: [mail(2)] },
      three: { password: 'pw', messages: [mail(3)] },
    },
  });
});
after(async () => {
  await pop3?.close();
  await receiver?.stop();
  await tmp?.remove();
});

function config(dir: string, users: string[]): string {
  return `state: ${dir}/state
log: { file: postbote.log }
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
scheduler: { interval: 1h }
mailboxes:
${users
  .map(
    (u) => `  - name: ${u}
    host: 127.0.0.1
    port: ${pop3.port}
    tls: none
    auth: user
    user: ${u}
    password: pw
    deliverTo: [${u}@corp.local]
`,
  )
  .join('')}`;
}

function start(file: string): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', '-c', file], {
    cwd: ROOT,
    env: { ...process.env, POSTBOTE_LOG_LEVEL: 'info' },
    stdio: 'ignore',
  });
  after(() => child.kill('SIGKILL'));
  return { child, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

const read = (file: string) => readFile(file, 'utf8').catch(() => '');
const lines = async (file: string) =>
  (await read(file))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

test('SIGHUP: an added mailbox is polled; a broken file keeps the service running and logs every error', async () => {
  const dir = join(tmp.path, 'a');
  const file = join(tmp.path, 'a.yaml');
  const log = join(tmp.path, 'postbote.log');
  await writeFile(file, config(dir, ['one']));
  const { child, exited } = start(file);
  await until('mailbox one delivered', () => receiver.byRecipient('one@corp.local').length === 1);

  // The per-message line: JSON (a file), level name, the facts an admin looks for.
  await until('message line logged', async () => (await lines(log)).some((l) => l.outcome === 'delivered'));
  const line = (await lines(log)).find((l) => l.outcome === 'delivered')!;
  assert.equal(line.level, 'info');
  assert.equal(line.mailbox, 'one');
  assert.equal(line.messageId, 'm1@example.net');
  assert.equal(line.from, 'sender1@example.net');
  assert.deepEqual(line.to, ['one@corp.local']);
  assert.match(String(line.reply), /^250 /);
  assert.equal(typeof line.ms, 'number');

  await writeFile(file, config(dir, ['one', 'two']));
  child.kill('SIGHUP');
  await until(
    'mailbox two, added by the reload, delivered',
    () => receiver.byRecipient('two@corp.local').length === 1,
  );

  const broken = config(dir, ['one', 'three']).replace('interval: 1h', 'interval: soon');
  await writeFile(file, broken.replace(/port: (\d+)(?![\s\S]*port: \d)/, 'port: abc'));
  child.kill('SIGHUP');
  await until('errors logged', async () => /reload refused/.test(await read(log)));
  const errors = (await lines(log)).filter(
    (l) => l.level === 'error' && String(l.msg).startsWith('reload: '),
  );
  assert.equal(errors.length, 2, JSON.stringify(errors));
  assert.ok(errors.some((e) => /scheduler\.interval/.test(String(e.msg))));
  assert.ok(errors.some((e) => /mailboxes\[1\]\.port/.test(String(e.msg))));
  await sleep(6000); // longer than the start spread a new mailbox would get
  assert.equal(child.exitCode, null, 'still running');
  assert.equal(receiver.byRecipient('three@corp.local').length, 0, 'the broken file was not applied');

  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});

test('SIGHUP reopens log.file: after logrotate renamed it, new lines go to a new file', async () => {
  const dir = join(tmp.path, 'b');
  const file = join(tmp.path, 'b.yaml');
  const log = join(tmp.path, 'postbote.log');
  await writeFile(log, '');
  await writeFile(file, config(dir, ['one']));
  const { child, exited } = start(file);
  await until('running', async () => /postbote running/.test(await read(log)));
  await rename(log, `${log}.1`);
  child.kill('SIGHUP');
  await until('a new file with the reload line', async () => /configuration reloaded/.test(await read(log)));
  assert.doesNotMatch(await read(log), /postbote running/);
  assert.doesNotMatch(await read(`${log}.1`), /configuration reloaded/);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(await read(log), /postbote stopped/);
});
