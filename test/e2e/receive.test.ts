// Postbote's receive connector against independent clients (swaks, nodemailer, a raw socket):
// source-address lock, relay refusal, unknown recipients, size limit, AUTH only after STARTTLS,
// Maildir delivery on disk, and LMTP into a real Dovecot read back over POP3 byte for byte.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import nodemailer, { type TransportOptions } from 'nodemailer';
import { pino } from 'pino';
import { openPop3 } from '../../src/pop3/client.js';
import { hashPassword } from '../../src/util/password.js';
import { dovecotUnavailable, startDovecot } from '../support/dovecot.js';
import { makeCertificate } from '../support/dovecot-config.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { SmtpSocket, smtpDialog } from './receive-dialog.js';
import { listen, listenerConfig, MB, MESSAGE, newFiles, swaks } from './receive-world.js';

describe('receive connector with Maildir delivery', () => {
  let tmp: TempDir;
  let maildir: string;
  let stop: () => Promise<void>;
  let port: number;

  before(async () => {
    tmp = await makeTempDir('postbote-receive-');
    maildir = join(tmp.path, 'mail');
    ({ port, close: stop } = await listen(listenerConfig({ deliver: { maildir } })));
  });
  after(async () => {
    await stop?.();
    await tmp?.remove();
  });

  test('swaks from an allowed address delivers into DIR/<recipient>/new, byte for byte behind the trace', async () => {
    // swaks ends the data with CRLF "." CRLF itself, so the file holds the message without its last CRLF.
    const file = join(tmp.path, 'msg.eml');
    await writeFile(file, MESSAGE.slice(0, -2));
    const res = await swaks([
      ...['--server', '127.0.0.1', '--port', String(port), '--local-interface', '127.0.0.2'],
      ...['--from', 'sender@example.net', '--to', 'Bob@corp.local,carol@corp.local', '--data', `@${file}`],
    ]);
    assert.equal(res.code, 0, res.out);
    assert.match(res.out, /<[-~] +250 2\.0\.0 stored as /);
    const inodes: number[] = [];
    for (const rcpt of ['bob@corp.local', 'carol@corp.local']) {
      const files = newFiles(maildir, rcpt);
      assert.equal(files.length, 1, `${rcpt}: ${files.join(', ')}`);
      const path = join(maildir, rcpt, 'new', files[0]!);
      const raw = readFileSync(path);
      const text = raw.toString('latin1');
      assert.match(
        text,
        /^Received: from \S+ \(\[127\.0\.0\.2\]\)\r\n\tby \S+ \(Postbote\) with ESMTP\r\n\tid \S+; /,
      );
      assert.ok(text.endsWith(MESSAGE), 'the message follows the trace header unchanged');
      assert.match(files[0]!, new RegExp(`,S=${raw.length}$`));
      assert.deepEqual(newFiles(maildir, rcpt, 'tmp'), []);
      inodes.push(statSync(path).ino);
    }
    // Written once, then hard-linked into the second recipient's folder.
    assert.equal(inodes[0], inodes[1]);
  });

  test('a connection from an address outside remoteIpRanges is refused with 554 5.7.1 at connect', async () => {
    const res = await swaks([
      ...['--server', '127.0.0.1', '--port', String(port), '--local-interface', '127.0.0.3'],
      ...['--from', 'sender@example.net', '--to', 'bob@corp.local'],
    ]);
    assert.notEqual(res.code, 0);
    assert.match(res.out, /<\*\* +554 5\.7\.1 Client host \[127\.0\.0\.3\] is not allowed/);
    const dialog = await smtpDialog({ port, localAddress: '127.0.0.3' }, []);
    assert.match(dialog.greeting, /^554 5\.7\.1 /);
  });

  test('nodemailer from a listed range is refused relaying to an outside domain (550 5.7.54)', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      secure: false,
      ignoreTLS: true,
      localAddress: '127.0.0.15',
    } as TransportOptions);
    await assert.rejects(
      transport.sendMail({ from: 'a@example.net', to: 'victim@elsewhere.example', text: 'relay?' }),
      (err: { responseCode?: number; response?: string }) =>
        err.responseCode === 550 && /5\.7\.54 Unable to relay/.test(err.response ?? ''),
    );
    const ok = await transport.sendMail({ from: 'a@example.net', to: 'dave@corp.local', text: 'hello' });
    assert.match(ok.response, /^250 2\.0\.0 stored as /);
    transport.close();
    assert.equal(newFiles(maildir, 'dave@corp.local').length, 1);
    assert.deepEqual(newFiles(maildir, 'victim@elsewhere.example'), []);
  });

  test('an unknown recipient in an authoritative domain gets 550 5.1.1, a listed one is accepted', async () => {
    const res = await smtpDialog({ port, localAddress: '127.0.0.2' }, [
      'EHLO client.test',
      'MAIL FROM:<a@example.net>',
      'RCPT TO:<mallory@team.example>',
      'RCPT TO:<Alice@team.example>',
      'RCPT TO:<a/b@corp.local>',
      'QUIT',
    ]);
    assert.match(res.replies[2]!, /^550 5\.1\.1 <mallory@team\.example>: recipient unknown/);
    assert.match(res.replies[3]!, /^250 /);
    assert.match(res.replies[4]!, /^553 5\.1\.3 /);
  });

  test('SIZE is advertised; a larger message is refused with 552 at MAIL (nodemailer) and after DATA (swaks)', async () => {
    const ehlo = await smtpDialog({ port, localAddress: '127.0.0.2' }, ['EHLO client.test', 'QUIT']);
    assert.match(ehlo.replies[0]!, new RegExp(`250[- ]SIZE ${MB}\\b`));
    assert.doesNotMatch(ehlo.replies[0]!, /AUTH|STARTTLS/);

    const big = `${'x'.repeat(998)}\r\n`.repeat(Math.ceil((1.2 * MB) / 1000));
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      ignoreTLS: true,
      localAddress: '127.0.0.2',
    } as TransportOptions);
    await assert.rejects(
      transport.sendMail({ from: 'a@example.net', to: 'erin@corp.local', text: big }),
      (err: { responseCode?: number }) => err.responseCode === 552,
    );
    transport.close();

    const file = join(tmp.path, 'big.eml');
    await writeFile(file, `Subject: big\r\n\r\n${big}`);
    const res = await swaks([
      ...['--server', '127.0.0.1', '--port', String(port), '--local-interface', '127.0.0.2'],
      ...['--from', 'a@example.net', '--to', 'erin@corp.local', '--data', `@${file}`],
    ]);
    assert.notEqual(res.code, 0);
    assert.match(res.out, /<\*\* +552 /);
    assert.deepEqual(newFiles(maildir, 'erin@corp.local'), []);
    assert.deepEqual(newFiles(maildir, 'erin@corp.local', 'tmp'), []);
  });
});

describe('receive connector with auth: required and STARTTLS', () => {
  let tmp: TempDir;
  let maildir: string;
  let stop: () => Promise<void>;
  let port: number;
  let ca: string;
  const logLines: string[] = [];

  before(async () => {
    tmp = await makeTempDir('postbote-receive-auth-');
    maildir = join(tmp.path, 'mail');
    const cert = join(tmp.path, 'cert.pem');
    const key = join(tmp.path, 'key.pem');
    await makeCertificate(cert, key);
    ca = readFileSync(cert, 'utf8');
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    const config = listenerConfig({
      deliver: { maildir },
      auth: 'required',
      users: [{ user: 'postbote', passwordHash: await hashPassword('s3cret-pw') }],
      tls: { cert, key, certPem: ca, keyPem: readFileSync(key, 'utf8'), required: false },
    });
    ({ port, close: stop } = await listen(config, pino({ level: 'debug' }, sink)));
  });
  after(async () => {
    await stop?.();
    await tmp?.remove();
  });

  test('AUTH is not offered before STARTTLS and refused when tried; MAIL without AUTH gets 530', async () => {
    const plain = Buffer.from('\0postbote\0s3cret-pw').toString('base64');
    const res = await smtpDialog({ port, localAddress: '127.0.0.2' }, [
      'EHLO client.test',
      `AUTH PLAIN ${plain}`,
      'MAIL FROM:<a@example.net>',
      'QUIT',
    ]);
    assert.match(res.replies[0]!, /STARTTLS/);
    assert.doesNotMatch(res.replies[0]!, /AUTH/);
    assert.match(res.replies[1]!, /^5\d\d /);
    assert.match(res.replies[2]!, /^530 /);
  });

  test('after STARTTLS, AUTH PLAIN with the hashed password succeeds and the log masks the credentials', async () => {
    const s = await SmtpSocket.open({ port, localAddress: '127.0.0.2' });
    try {
      assert.match(await s.read(), /^220 /);
      await s.command('EHLO client.test');
      assert.match(await s.command('STARTTLS'), /^220 /);
      await s.upgrade(ca);
      assert.match(await s.command('EHLO client.test'), /AUTH PLAIN LOGIN/);
      const wrong = Buffer.from('\0postbote\0wrong').toString('base64');
      assert.match(await s.command(`AUTH PLAIN ${wrong}`), /^535 5\.7\.8 /);
      const plain = Buffer.from('\0postbote\0s3cret-pw').toString('base64');
      assert.match(await s.command(`AUTH PLAIN ${plain}`), /^235 /);
      assert.match(await s.command('MAIL FROM:<a@example.net>'), /^250 /);
      assert.match(await s.command('RCPT TO:<frank@corp.local>'), /^250 /);
      assert.match(await s.command('DATA'), /^354 /);
      s.write('Subject: over TLS\r\n\r\nhello\r\n.\r\n');
      assert.match(await s.read(), /^250 2\.0\.0 stored as /);
      await s.command('QUIT');
      const log = logLines.join('');
      assert.ok(!log.includes(plain) && !log.includes('s3cret-pw'), 'credentials never logged');
      assert.match(log, /"cid":"[^"]+".*"msg":"C: AUTH PLAIN/);
      const stored = readFileSync(
        join(maildir, 'frank@corp.local', 'new', newFiles(maildir, 'frank@corp.local')[0]!),
      );
      assert.match(stored.toString('latin1'), /with ESMTPSA\r\n/);
    } finally {
      s.close();
    }
  });
});

describe('receive connector delivering to Dovecot over LMTP', { skip: dovecotUnavailable() }, () => {
  let dovecot: Awaited<ReturnType<typeof startDovecot>>;
  let stop: () => Promise<void>;
  let port: number;

  before(async () => {
    dovecot = await startDovecot({ users: ['grace', 'heidi'], name: 'receive-lmtp' });
    const config = listenerConfig({ deliver: { lmtp: `127.0.0.1:${dovecot.ports.lmtp}` } });
    ({ port, close: stop } = await listen(config));
  });
  after(async () => {
    await stop?.();
    await dovecot?.stop();
  });

  test('a message relayed by LMTP reads back over Dovecot POP3 byte for byte (after the trace headers)', async () => {
    // Long lines, a dot-leading line and 8-bit bytes: everything a careless hop would change.
    const body = Buffer.concat([
      Buffer.from(
        'From: s@example.net\r\nTo: grace@corp.local\r\nSubject: lmtp\r\nMessage-ID: <l1@example.net>\r\n\r\n',
      ),
      Buffer.from(`.dot first\r\n..two dots\r\n${'y'.repeat(5000)}\r\n`),
      Buffer.from([0xc3, 0xa4, 0xe2, 0x82, 0xac, 0x0d, 0x0a]),
      Buffer.from('end\r\n'),
    ]);
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port,
      ignoreTLS: true,
      localAddress: '127.0.0.2',
    } as TransportOptions);
    const info = await transport.sendMail({
      envelope: { from: 's@example.net', to: ['grace@corp.local', 'heidi@corp.local'] },
      raw: body,
    });
    transport.close();
    assert.match(info.response, /^250 2\.0\.0 delivered by lmtp /);

    for (const user of ['grace', 'heidi']) {
      const pop = await openPop3({
        host: '127.0.0.1',
        port: dovecot.ports.pop3,
        tls: 'none',
        user,
        password: dovecot.password(user),
      });
      try {
        const list = (await pop.list()).messages;
        assert.equal(list.length, 1, dovecot.log());
        const chunks: Buffer[] = [];
        for await (const c of pop.retrieve(list[0]!)) chunks.push(c as Buffer);
        const got = Buffer.concat(chunks);
        const at = got.indexOf(body.subarray(0, 20));
        assert.ok(at > 0, 'the original message follows the prepended headers');
        const prefix = got.subarray(0, at).toString('latin1');
        assert.match(prefix, /\(Postbote\) with ESMTP\r\n/, 'our trace header is among them');
        assert.ok(got.subarray(at).equals(body), 'byte-exact after the trace headers');
      } finally {
        await pop.close();
      }
    }
  });

  test('an LMTP refusal for one recipient is not answered 250', async () => {
    // ivan is no Dovecot user: LMTP refuses him at RCPT, grace is accepted; the client must not see 250.
    const s = await SmtpSocket.open({ port, localAddress: '127.0.0.2' });
    try {
      await s.read();
      await s.command('EHLO client.test');
      await s.command('MAIL FROM:<s@example.net>');
      await s.command('RCPT TO:<grace@corp.local>');
      await s.command('RCPT TO:<ivan@corp.local>');
      assert.match(await s.command('DATA'), /^354 /);
      s.write('Subject: partial\r\n\r\nhello\r\n.\r\n');
      const final = await s.read();
      assert.match(final, /^5\d\d .*<ivan@corp\.local>.*\(accepted for 1 other\)/);
    } finally {
      s.close();
    }
  });
});

describe('receive connector rate limits', () => {
  let tmp: TempDir;
  let stop: () => Promise<void>;
  let port: number;

  before(async () => {
    tmp = await makeTempDir('postbote-receive-rate-');
    ({ port, close: stop } = await listen(
      listenerConfig({
        deliver: { maildir: join(tmp.path, 'mail') },
        rateLimits: { connectionsPerMinute: 3, messagesPerMinute: 2 },
      }),
    ));
  });
  after(async () => {
    await stop?.();
    await tmp?.remove();
  });

  test('past its message and connection budgets a remote address gets 451 and 421, another does not', async () => {
    // Connection 1 of 127.0.0.2: two messages pass, the third is over the message budget.
    const s = await SmtpSocket.open({ port, localAddress: '127.0.0.2' });
    try {
      await s.read();
      await s.command('EHLO client.test');
      for (const n of [1, 2]) {
        assert.match(await s.command('MAIL FROM:<s@example.net>'), /^250 /, `message ${n}`);
        assert.match(await s.command('RCPT TO:<judy@corp.local>'), /^250 /);
        assert.match(await s.command('DATA'), /^354 /);
        s.write(`Subject: ${n}\r\n\r\nhello\r\n.\r\n`);
        assert.match(await s.read(), /^250 /);
      }
      assert.match(await s.command('MAIL FROM:<s@example.net>'), /^451 4\.7\.0 Message rate limit/);
    } finally {
      s.close();
    }
    // Connections 2 and 3 are within the budget, the 4th is refused at once; swaks from .2 sees it too.
    for (const n of [2, 3]) {
      const c = await SmtpSocket.open({ port, localAddress: '127.0.0.2' });
      assert.match(await c.read(), /^220 /, `connection ${n}`);
      c.close();
    }
    const refused = await swaks([
      '--server',
      `127.0.0.1:${port}`,
      '--local-interface',
      '127.0.0.2',
      '--to',
      'judy@corp.local',
      '--from',
      's@example.net',
      '--quit-after',
      'CONNECT',
    ]);
    assert.match(refused.out, /421 4\.7\.0 Too many connections from \[127\.0\.0\.2\]/);
    // The budget is per remote address: 127.0.0.11 is still welcome.
    const other = await SmtpSocket.open({ port, localAddress: '127.0.0.11' });
    assert.match(await other.read(), /^220 /);
    other.close();
  });
});
