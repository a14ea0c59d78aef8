// The verdicts and fixes `postbote check` prints (and the web's "test a mailbox" form shows).
import assert from 'node:assert/strict';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { describe, test } from 'node:test';
import { parseConfig } from '../config/index.js';
import { silentLogger } from '../log.js';
import { startPop3Server } from '../pop3/server/index.js';
import { selfSignedCert, startSmtpServer } from '../smtp/test-support.test.js';
import type { RecipientReply } from '../smtp/types.js';
import { checkMailbox, checkTarget, recipientHint } from './check.js';

const nonAccepted = (address: string): RecipientReply => ({
  address,
  stage: 'RCPT',
  reply: { code: 550, enhanced: '5.7.54', text: 'SMTP; Unable to relay recipient in non-accepted domain' },
});

describe('recipientHint', () => {
  test('5.7.54 for every recipient names the domain to accept, not RemoteIPRanges', () => {
    const hint = recipientHint(nonAccepted('info@corp.example'), true, '192.168.1.11');
    assert.match(hint, /corp\.example is not an accepted domain/);
    assert.doesNotMatch(hint, /RemoteIPRanges/);
  });

  test('a relay refusal for every recipient names the source address', () => {
    const r: RecipientReply = {
      address: 'info@corp.example',
      stage: 'RCPT',
      reply: { code: 550, enhanced: '5.7.1', text: 'Unable to relay' },
    };
    assert.match(recipientHint(r, true, '192.168.1.11'), /add 192\.168\.1\.11 to RemoteIPRanges/);
  });
});

const cert = selfSignedCert();
const config = (target: string, mailbox = 'host: 127.0.0.1, port: 1, tls: none') =>
  parseConfig(
    `target: { host: 127.0.0.1, helo: postbote.test, ${target} }
mailboxes:
  - { name: info, ${mailbox}, user: info, password: pw, deliverTo: [info@corp.local] }
`,
    { file: 'postbote.yaml', baseDir: tmpdir() },
  );

describe('checkMailbox', () => {
  test('says the certificate was not verified with tlsVerify: false, and sizes in KB', async () => {
    const server = await startPop3Server({
      users: { info: { password: 'pw', messages: [Buffer.alloc(3000, 'a'), Buffer.alloc(20, 'b')] } },
      tls: { ...cert, implicitTls: true },
    });
    try {
      const c = config('port: 25', `host: 127.0.0.1, port: ${server.port}, tls: tls, tlsVerify: false`);
      const result = await checkMailbox(c.mailboxes[0]!, silentLogger());
      assert.equal(result.ok, true, result.detail);
      assert.match(result.detail, /certificate not verified/);
      assert.doesNotMatch(result.detail, /TLS verified/);
      assert.match(result.detail, /2 messages, 2\.9 KB waiting/);
    } finally {
      await server.close();
    }
  });

  test('a failure names its place once and its fix only in hint', async () => {
    const refusing = net.createServer((s) => s.end('-ERR [SYS/PERM] go away\r\n'));
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    try {
      const port = (refusing.address() as net.AddressInfo).port;
      const result = await checkMailbox(
        config('port: 25', `host: 127.0.0.1, port: ${port}`).mailboxes[0]!,
        silentLogger(),
      );
      assert.equal(result.ok, false);
      assert.doesNotMatch(result.detail, /127\.0\.0\.1/, 'the subject already says where');
      if (result.hint) assert.ok(!result.detail.includes(result.hint), result.detail);
    } finally {
      refusing.close();
    }
  });
});

describe('checkTarget', () => {
  test('says the certificate was not verified with tlsVerify: false', async () => {
    const server = await startSmtpServer({ ...cert });
    try {
      const [first] = await checkTarget(
        config(`port: ${server.port}, tls: starttls, tlsVerify: false`),
        silentLogger(),
      );
      assert.equal(first!.ok, true, first!.detail);
      assert.match(first!.detail, /over TLS \(certificate not verified/);
      assert.doesNotMatch(first!.detail, /verified TLS/);
    } finally {
      await server.close();
    }
  });

  test('a refusal names the target once, and its fix only in hint', async () => {
    const refusing = net.createServer((s) => s.end('554 5.7.1 Client host rejected\r\n'));
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    try {
      const port = (refusing.address() as net.AddressInfo).port;
      const [first] = await checkTarget(config(`port: ${port}, tls: none`), silentLogger());
      assert.equal(first!.ok, false);
      assert.match(first!.subject, new RegExp(`^target 127\\.0\\.0\\.1:${port} `));
      assert.doesNotMatch(first!.detail, /target 127\.0\.0\.1/);
      assert.match(first!.detail, /554 5\.7\.1 Client host rejected/);
      assert.ok(first!.hint && !first!.detail.includes(first!.hint), first!.detail);
    } finally {
      refusing.close();
    }
  });
});
