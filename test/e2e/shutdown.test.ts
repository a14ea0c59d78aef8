// `postbote run` stopped by SIGTERM while a provider trickles a message one byte at a time: it must exit
// within scheduler.shutdownGrace (plus a little), lose nothing and record nothing as deferred.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { CLI, ROOT, writeConfig } from './helpers.js';

const SIZE = 2000;
let tmp: TempDir;
let receiver: Receiver;

before(async () => {
  tmp = await makeTempDir('postbote-shutdown-');
  receiver = await startReceiver({});
});
after(async () => {
  await receiver?.stop();
  await tmp?.remove();
});

/** A provider with one message that it sends one byte every 100 ms; it records every command. */
async function tricklingProvider(): Promise<{ server: Server; port: number; commands: string[] }> {
  const commands: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.write('+OK ready\r\n');
    let buf = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('close', () => clearInterval(timer));
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (let lf = buf.indexOf('\n'); lf >= 0; lf = buf.indexOf('\n')) {
        const line = buf.slice(0, lf).trim();
        buf = buf.slice(lf + 1);
        commands.push(line.split(' ')[0]!);
        if (line === 'CAPA') socket.write('+OK\r\nUSER\r\nUIDL\r\n.\r\n');
        else if (/^(USER|PASS|NOOP|RSET|DELE)/.test(line)) socket.write('+OK\r\n');
        else if (line === 'UIDL') socket.write('+OK\r\n1 slow-1\r\n.\r\n');
        else if (line === 'LIST') socket.write(`+OK\r\n1 ${SIZE}\r\n.\r\n`);
        else if (line === 'RETR 1') {
          socket.write(`+OK ${SIZE} octets\r\n`);
          timer = setInterval(() => socket.write('x'), 100);
        } else if (line === 'QUIT') socket.end('+OK bye\r\n');
        else socket.write('-ERR unknown\r\n');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, commands };
}

test('run: SIGTERM while a provider trickles exits within the grace, loses nothing, defers nothing', async () => {
  const provider = await tricklingProvider();
  const state = join(tmp.path, 'state');
  const file = await writeConfig(
    tmp.path,
    `state: ${state}
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
scheduler: { interval: 1h, shutdownGrace: 2s }
mailboxes:
  - name: slow
    host: 127.0.0.1
    port: ${provider.port}
    tls: none
    auth: user
    user: slow
    password: pw
    deliverTo: [slow@corp.local]
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', '-c', file], {
    cwd: ROOT,
    env: { ...process.env, POSTBOTE_LOG_LEVEL: 'warn' },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    // The first poll starts within the scheduler's start spread (5 s); then the message trickles.
    const deadline = Date.now() + 30_000;
    while (!provider.commands.includes('RETR') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(provider.commands.includes('RETR'), 'the message was requested');
    await new Promise((r) => setTimeout(r, 1000));
    const sentAt = Date.now();
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      exited,
      new Promise<'hung'>((r) => {
        timer = setTimeout(() => r('hung'), 20_000);
      }),
    ]).finally(() => clearTimeout(timer));
    assert.notEqual(code, 'hung', 'still running 20 s after SIGTERM');
    assert.equal(code, 0);
    const took = Date.now() - sentAt;
    assert.ok(took < 2000 + 5000, `exited ${took} ms after SIGTERM (grace 2 s)`);
  } finally {
    child.kill('SIGKILL');
  }
  assert.ok(!provider.commands.includes('DELE'), 'nothing deleted at the provider');
  assert.ok(!provider.commands.includes('QUIT'), 'the session was dropped, never committed');
  assert.equal(receiver.received.length, 0);
  const store = new SqliteStore(join(state, 'postbote.sqlite'));
  try {
    const records = [...(await store.messagesOf('slow')).values()];
    assert.deepEqual(
      records.filter((r) => r.state === 'deferred').map((r) => r.uid),
      [],
      'nothing deferred by the shutdown',
    );
  } finally {
    await store.close();
  }
});
