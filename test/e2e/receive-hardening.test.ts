// The receive connector against hostile and buggy clients: sender-specified routing, IDN recipients,
// connection floods and trickling sessions, and password guessing (raw sockets and swaks).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { hashPassword } from '../../src/util/password.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { SmtpSocket, smtpDialog } from './receive-dialog.js';
import { listen, listenerConfig, newFiles, swaks } from './receive-world.js';

describe('receive connector: recipients', () => {
  let tmp: TempDir;
  let maildir: string;
  let stop: () => Promise<void>;
  let port: number;

  before(async () => {
    tmp = await makeTempDir('postbote-receive-rcpt-');
    maildir = join(tmp.path, 'mail');
    const config = listenerConfig({
      deliver: { maildir },
      acceptedDomains: [{ domain: 'corp.local' }, { domain: 'bücher.example' }],
    });
    ({ port, close: stop } = await listen(config));
  });
  after(async () => {
    await stop?.();
    await tmp?.remove();
  });

  test('sender-specified routing (%, ! and source routes) gets 550 5.7.1 and is never stored', async () => {
    const res = await smtpDialog({ port, localAddress: '127.0.0.2' }, [
      'EHLO client.test',
      'MAIL FROM:<a@example.net>',
      'RCPT TO:<user%other.example@corp.local>',
      'RCPT TO:<other.example!user@corp.local>',
      'RCPT TO:<@relay.example,@b.example:user@corp.local>',
      'RCPT TO:<@relay.example:user@corp.local>',
      'RCPT TO:<user@corp.local>',
      'QUIT',
    ]);
    for (const reply of res.replies.slice(2, 6)) assert.match(reply, /^550 5\.7\.1 .*Relay access denied/);
    assert.match(res.replies[6]!, /^250 /, 'a plain recipient after them is still welcome');

    const bang = await swaks([
      ...['--server', '127.0.0.1', '--port', String(port), '--local-interface', '127.0.0.2'],
      ...['--from', 'a@example.net', '--to', 'other.example!victim@corp.local'],
    ]);
    assert.notEqual(bang.code, 0);
    assert.match(bang.out, /<\*\* +550 5\.7\.1 /);
    assert.deepEqual(newFiles(maildir, 'other.example!victim@corp.local'), []);
  });

  test('an IDN recipient in A-label form or upper-case Unicode lands in the one A-label Maildir', async () => {
    for (const rcpt of ['Bob@xn--bcher-kva.example', 'bob@BÜCHER.example']) {
      const s = await SmtpSocket.open({ port, localAddress: '127.0.0.2' });
      try {
        await s.read();
        await s.command('EHLO client.test');
        await s.command('MAIL FROM:<a@example.net>');
        assert.match(await s.command(`RCPT TO:<${rcpt}>`), /^250 /, rcpt);
        assert.match(await s.command('DATA'), /^354 /);
        s.write(Buffer.from(`Subject: idn\r\n\r\nto ${rcpt}\r\n.\r\n`, 'utf8'));
        assert.match(await s.read(), /^250 2\.0\.0 stored as /);
        await s.command('QUIT');
      } finally {
        s.close();
      }
    }
    assert.equal(newFiles(maildir, 'bob@xn--bcher-kva.example').length, 2);
  });
});

/** Opens a session from `localAddress` and returns it with its greeting. */
async function connect(port: number, localAddress: string): Promise<{ s: SmtpSocket; greeting: string }> {
  const s = await SmtpSocket.open({ port, localAddress });
  return { s, greeting: await s.read() };
}

describe('receive connector: connection limits', () => {
  let tmp: TempDir;
  let stop: () => Promise<void>;
  let port: number;

  before(async () => {
    tmp = await makeTempDir('postbote-receive-conn-');
    const config = listenerConfig({
      deliver: { maildir: join(tmp.path, 'mail') },
      maxConnections: 4,
      maxConnectionsPerIp: 2,
    });
    ({ port, close: stop } = await listen(config));
  });
  after(async () => {
    await stop?.();
    await tmp?.remove();
  });

  test('past maxConnectionsPerIp and maxConnections a client gets 421 at once; a closed session frees its slot', async () => {
    const open: SmtpSocket[] = [];
    try {
      for (const ip of ['127.0.0.2', '127.0.0.2']) {
        const c = await connect(port, ip);
        open.push(c.s);
        assert.match(c.greeting, /^220 /);
      }
      const third = await connect(port, '127.0.0.2');
      assert.match(third.greeting, /^421 4\.7\.0 Too many connections from \[127\.0\.0\.2\]/);
      assert.equal(await third.s.read(), '', 'and the connection is closed');
      third.s.close();
      for (const ip of ['127.0.0.11', '127.0.0.12']) {
        const c = await connect(port, ip);
        open.push(c.s);
        assert.match(c.greeting, /^220 /, ip);
      }
      const overTotal = await connect(port, '127.0.0.13');
      assert.match(overTotal.greeting, /^421 4\.7\.0 Too many connections to this connector/);
      overTotal.s.close();

      open.shift()!.close();
      let again = '';
      for (let i = 0; i < 20 && !again.startsWith('220'); i++) {
        await sleep(50);
        const c = await connect(port, '127.0.0.2');
        again = c.greeting;
        if (again.startsWith('220')) open.push(c.s);
        else c.s.close();
      }
      assert.match(again, /^220 /, 'the slot is free again once a session ended');
    } finally {
      for (const s of open) s.close();
    }
  });
});

describe('receive connector: session time and data rate', () => {
  let tmp: TempDir;
  let maildir: string;
  let stop: () => Promise<void>;
  let port: number;

  before(async () => {
    tmp = await makeTempDir('postbote-receive-slow-');
    maildir = join(tmp.path, 'mail');
    const config = listenerConfig({
      deliver: { maildir },
      timeouts: { idle: 1_000, session: 2_500 },
      minDataRate: 1_000,
    });
    ({ port, close: stop } = await listen(config));
  });
  after(async () => {
    await stop?.();
    await tmp?.remove();
  });

  test('a busy session is closed with 421 4.4.2 once the absolute session time is over', async () => {
    const { s } = await connect(port, '127.0.0.2');
    const started = Date.now();
    try {
      let reply = '';
      // A NOOP every 300 ms: never idle for the 1 s idle timeout.
      for (let i = 0; i < 20; i++) {
        reply = await s.command('NOOP');
        if (!reply.startsWith('250')) break;
        await sleep(300);
      }
      assert.match(reply, /^421 4\.4\.2 .*Session time limit exceeded/);
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 2_000 && elapsed < 8_000, `closed after ${elapsed} ms`);
      assert.equal(await s.read(), '', 'and the connection is closed');
    } finally {
      s.close();
    }
  });

  test('a client trickling its message below minDataRate gets 421 4.4.2 and nothing is stored', async () => {
    const { s } = await connect(port, '127.0.0.2');
    try {
      await s.command('EHLO client.test');
      await s.command('MAIL FROM:<a@example.net>');
      assert.match(await s.command('RCPT TO:<slow@corp.local>'), /^250 /);
      assert.match(await s.command('DATA'), /^354 /);
      // One byte every 200 ms: never idle, but 5 bytes a second against the 1000 required.
      for (let i = 0; i < 30 && !s.isClosed; i++) {
        s.write('x');
        await sleep(200);
      }
      const reply = await s.read();
      assert.match(reply, /^421 4\.4\.2 .*data rate/i);
    } finally {
      s.close();
    }
    // The aborted write removes its tmp/ file once it sees the stream fail (later on a busy machine).
    for (let i = 0; i < 100 && newFiles(maildir, 'slow@corp.local', 'tmp').length > 0; i++) await sleep(50);
    assert.deepEqual(newFiles(maildir, 'slow@corp.local'), []);
    assert.deepEqual(newFiles(maildir, 'slow@corp.local', 'tmp'), []);
  });

  test('a client sending at a normal pace is not affected', async () => {
    const { s } = await connect(port, '127.0.0.2');
    try {
      await s.command('EHLO client.test');
      await s.command('MAIL FROM:<a@example.net>');
      await s.command('RCPT TO:<steady@corp.local>');
      assert.match(await s.command('DATA'), /^354 /);
      s.write(`Subject: steady\r\n\r\n${'line\r\n'.repeat(2000)}.\r\n`);
      assert.match(await s.read(), /^250 2\.0\.0 stored as /);
    } finally {
      s.close();
    }
    assert.equal(newFiles(maildir, 'steady@corp.local').length, 1);
  });
});

describe('receive connector: password guessing', () => {
  let stop: () => Promise<void>;
  let port: number;
  const logLines: string[] = [];
  const plain = (password: string) =>
    `AUTH PLAIN ${Buffer.from(`\0postbote\0${password}`).toString('base64')}`;

  before(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    const config = listenerConfig({
      deliver: { maildir: '/nonexistent' },
      auth: 'required',
      allowInsecureAuth: true,
      users: [{ user: 'postbote', passwordHash: await hashPassword('s3cret-pw') }],
      authFailures: { perSession: 3, delay: 300, lockoutAfter: 5, lockout: 2_000 },
    });
    ({ port, close: stop } = await listen(config, pino({ level: 'info' }, sink)));
  });
  after(async () => {
    await stop?.();
  });

  test('failures are delayed, the 3rd in a session disconnects, the 5th locks the address out for a while', async () => {
    const first = await connect(port, '127.0.0.2');
    try {
      await first.s.command('EHLO client.test');
      for (const n of [1, 2]) {
        const t = Date.now();
        assert.match(await first.s.command(plain(`guess${n}`)), /^535 5\.7\.8 /);
        assert.ok(Date.now() - t >= 280, `failure ${n} answered after the tarpit delay`);
      }
      assert.match(await first.s.command(plain('guess3')), /^421 4\.7\.0 Too many failed authentication/);
      assert.equal(await first.s.read(), '', 'and the connection is closed');
    } finally {
      first.s.close();
    }

    const second = await connect(port, '127.0.0.2');
    try {
      await second.s.command('EHLO client.test');
      assert.match(await second.s.command(plain('guess4')), /^535 /);
      assert.match(await second.s.command(plain('guess5')), /^535 /);
      // Locked out now: even the right password is not tried.
      assert.match(await second.s.command(plain('s3cret-pw')), /^454 4\.7\.0 /);
    } finally {
      second.s.close();
    }
    const refused = await connect(port, '127.0.0.2');
    assert.match(refused.greeting, /^421 4\.7\.0 .*authentication failures/);
    refused.s.close();
    assert.match(logLines.join(''), /locked out 127\.0\.0\.2/);

    // Another address is not affected.
    const other = await connect(port, '127.0.0.11');
    try {
      await other.s.command('EHLO client.test');
      assert.match(await other.s.command(plain('s3cret-pw')), /^235 /);
    } finally {
      other.s.close();
    }

    // After the lockout time the address may log in again.
    await sleep(2_100);
    const later = await connect(port, '127.0.0.2');
    try {
      assert.match(later.greeting, /^220 /);
      await later.s.command('EHLO client.test');
      assert.match(await later.s.command(plain('s3cret-pw')), /^235 /);
    } finally {
      later.s.close();
    }
  });
});
