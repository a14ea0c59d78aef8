// Proves the receiving SMTP/LMTP server used as the company mail server: byte-exact recording,
// scripted refusals, going down and up on the same port, and swaks from another loopback address.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { makeMessage } from './corpus.js';
import { makeCertificate } from './dovecot-config.js';
import { makeTempDir } from './ports.js';
import { RawConnection } from './raw-client.js';
import { startReceiver } from './smtp-receiver.js';

const run = promisify(execFile);

function send(port: number, to: string[], raw: Buffer) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  return transport
    .sendMail({ envelope: { from: 'fetch@postbote.test', to }, raw })
    .finally(() => transport.close());
}

describe('smtp receiver', () => {
  test('records a message sent by nodemailer byte for byte, with its envelope', async () => {
    const receiver = await startReceiver();
    try {
      const message = makeMessage({
        size: 300_000,
        seed: 5,
        leadingDots: true,
        eightBit: 'utf-8',
        longLines: true,
      });
      const info = await send(receiver.port, ['a@corp.local', 'b@corp.local'], message);
      assert.match(info.response, /^250 /);
      assert.equal(receiver.received.length, 1);
      const got = receiver.received[0]!;
      assert.ok(got.raw.equals(message), 'raw bytes differ');
      assert.equal(got.from, 'fetch@postbote.test');
      assert.deepEqual(got.to, ['a@corp.local', 'b@corp.local']);
      assert.equal(got.remoteAddress, '127.0.0.1');
      assert.equal(receiver.byRecipient('B@corp.local').length, 1);
    } finally {
      await receiver.stop();
    }
  });

  test('stop() refuses connections and start() listens again on the same port', async () => {
    const receiver = await startReceiver();
    try {
      const port = receiver.port;
      await receiver.stop();
      await assert.rejects(
        send(port, ['a@corp.local'], makeMessage({ size: 1000, seed: 1 })),
        /ECONNREFUSED/,
      );
      await receiver.start();
      assert.equal(receiver.port, port);
      await send(port, ['a@corp.local'], makeMessage({ size: 1000, seed: 2 }));
      await receiver.waitFor(1, 1000);
    } finally {
      await receiver.stop();
    }
  });

  test('stop() closes a session that is still open', async () => {
    const receiver = await startReceiver();
    const conn = await RawConnection.connect({ port: receiver.port });
    try {
      assert.match(await conn.readLine(), /^220 /);
      await receiver.stop();
      assert.match(await conn.readLine(), /^421 /);
    } finally {
      conn.close();
    }
  });

  test('scripted replies: 451 then 250 for the data, 550 for one recipient, 554 on connect', async () => {
    let dataCalls = 0;
    let refuseConnect = true;
    const receiver = await startReceiver({
      onConnect: () => (refuseConnect ? { code: 554, message: '5.7.1 not now' } : undefined),
      onRcpt: (address) =>
        address === 'gone@corp.local' ? { code: 550, message: '5.1.1 no such user' } : undefined,
      onData: () => (dataCalls++ === 0 ? { code: 451, message: '4.3.0 try again later' } : undefined),
    });
    try {
      const message = makeMessage({ size: 2000, seed: 3 });
      await assert.rejects(send(receiver.port, ['a@corp.local'], message), /554/);
      refuseConnect = false;
      await assert.rejects(send(receiver.port, ['a@corp.local'], message), /451/);
      assert.equal(receiver.received.length, 0, 'nothing recorded for a 451');
      const info = await send(receiver.port, ['a@corp.local', 'gone@corp.local'], message);
      assert.deepEqual(info.rejected, ['gone@corp.local']);
      assert.deepEqual(receiver.received[0]?.to, ['a@corp.local']);
      assert.deepEqual(
        receiver.refused.map((r) => [r.stage, r.code]),
        [
          ['connect', 554],
          ['data', 451],
          ['rcpt', 550],
        ],
      );
    } finally {
      await receiver.stop();
    }
  });

  test('LMTP mode answers per recipient and records the accepted ones', async () => {
    const receiver = await startReceiver({
      lmtp: true,
      onData: (envelope) =>
        envelope.to.map((t) => (t.startsWith('full') ? { code: 452, message: '4.2.2 full' } : undefined)),
    });
    const conn = await RawConnection.connect({ port: receiver.port });
    try {
      await conn.readLine();
      conn.send('LHLO postbote.test');
      while (!(await conn.readLine()).startsWith('250 ')) {}
      await conn.command('MAIL FROM:<x@y.z>');
      await conn.command('RCPT TO:<ok@corp.local>');
      await conn.command('RCPT TO:<full@corp.local>');
      assert.match(await conn.command('DATA'), /^354/);
      conn.write('Subject: t\r\n\r\nbody\r\n.\r\n');
      assert.match(await conn.readLine(), /^250 /);
      assert.match(await conn.readLine(), /^452 /);
    } finally {
      conn.close();
      await receiver.stop();
    }
    assert.deepEqual(receiver.received[0]?.to, ['ok@corp.local']);
    assert.equal(receiver.received[0]?.raw.toString(), 'Subject: t\r\n\r\nbody\r\n');
  });

  test('AUTH is required when asked for, and the user is recorded', async () => {
    const receiver = await startReceiver({ authRequired: true, users: { fetch: 's3cret' } });
    try {
      const message = makeMessage({ size: 1000, seed: 4 });
      await assert.rejects(send(receiver.port, ['a@corp.local'], message), /530/);
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: receiver.port,
        ignoreTLS: true,
        auth: { user: 'fetch', pass: 's3cret' },
      });
      await transport.sendMail({ envelope: { from: 'f@p.test', to: ['a@corp.local'] }, raw: message });
      transport.close();
      assert.equal(receiver.received[0]?.user, 'fetch');
    } finally {
      await receiver.stop();
    }
  });

  test('STARTTLS is offered only with tls options, and a TLS session is marked secure', async () => {
    const tmp = await makeTempDir('postbote-rcv-tls');
    await makeCertificate(`${tmp.path}/cert.pem`, `${tmp.path}/key.pem`);
    const cert = readFileSync(`${tmp.path}/cert.pem`, 'utf8');
    const key = readFileSync(`${tmp.path}/key.pem`, 'utf8');
    const plain = await startReceiver();
    const secure = await startReceiver({ tls: { key, cert } });
    try {
      assert.doesNotMatch(await ehlo(plain.port), /STARTTLS/);
      assert.match(await ehlo(secure.port), /STARTTLS/);
      const transport = nodemailer.createTransport({
        host: '127.0.0.1',
        port: secure.port,
        requireTLS: true,
        tls: { ca: cert, servername: 'localhost' },
      });
      await transport.sendMail({
        envelope: { from: 'f@p.test', to: ['a@corp.local'] },
        raw: 'Subject: x\r\n\r\ny\r\n',
      });
      transport.close();
      assert.equal(secure.received[0]?.secure, true);
    } finally {
      await Promise.all([plain.stop(), secure.stop()]);
      await tmp.remove();
    }
  });

  test('swaks delivers from 127.0.0.2 and the receiver sees that address', async () => {
    const receiver = await startReceiver();
    try {
      await run('swaks', [
        '--server',
        `127.0.0.1:${receiver.port}`,
        '--to',
        'x@corp.local',
        '--from',
        'a@b.c',
        '--local-interface',
        '127.0.0.2',
        '--body',
        'hi',
      ]);
      await receiver.waitFor(1, 5000);
      assert.equal(receiver.received[0]?.remoteAddress, '127.0.0.2');
      assert.deepEqual(receiver.byRecipient('x@corp.local').length, 1);
      assert.match(receiver.received[0]!.raw.toString(), /\r\n\r\nhi\r\n/);
    } finally {
      await receiver.stop();
    }
  });

  test('waitFor rejects with the count so far when messages do not arrive', async () => {
    const receiver = await startReceiver();
    try {
      await assert.rejects(receiver.waitFor(1, 50), /got 0 of 1 messages within 50 ms/);
      assert.equal(await isListening(receiver.port), true);
    } finally {
      await receiver.stop();
    }
  });
});

async function ehlo(port: number): Promise<string> {
  const conn = await RawConnection.connect({ port });
  try {
    await conn.readLine();
    conn.send('EHLO postbote.test');
    const lines: string[] = [];
    for (let line = await conn.readLine(); ; line = await conn.readLine()) {
      lines.push(line);
      if (line.startsWith('250 ')) return lines.join('\n');
    }
  } finally {
    conn.close();
  }
}

function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
