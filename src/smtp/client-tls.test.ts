// The client's TLS paths against smtp-server: STARTTLS, implicit TLS, certificate checks, AUTH.
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { isPostboteError } from '../errors.js';
import { connectSmtp } from './client.js';
import { selfSignedCert, smtpError, startSmtpServer, type TestServer } from './test-support.test.js';
import type { SmtpClientOptions } from './types.js';

const body = () => Readable.from([Buffer.from('Subject: tls\r\n\r\nhi\r\n')]);
const envelope = { from: 'a@x.test', to: ['b@y.test'] };

function opts(server: TestServer, extra: Partial<SmtpClientOptions> = {}): SmtpClientOptions {
  return { host: '127.0.0.1', port: server.port, tls: 'none', helo: 'postbote.test', ...extra };
}

const users: Record<string, string> = { postbote: 'sëcret pass' };
const onAuth: NonNullable<Parameters<typeof startSmtpServer>[0]>['onAuth'] = (auth, _session, cb) => {
  if (users[auth.username ?? ''] === auth.password) cb(null, { user: `${auth.method}:${auth.username}` });
  else cb(smtpError(535, 'Authentication credentials invalid'));
};

describe('STARTTLS', () => {
  let server: TestServer;
  const { key, cert } = selfSignedCert();
  before(async () => {
    server = await startSmtpServer({ key, cert, onAuth, authOptional: true });
  });
  after(() => server.close());

  test('upgrades, verifies the certificate with the given CA, and asks EHLO again', async () => {
    const conn = await connectSmtp(opts(server, { tls: 'starttls', ca: cert }));
    assert.equal(conn.secure, true);
    assert.equal(conn.extensions.has('STARTTLS'), false, 'extensions are those offered after TLS');
    const result = await conn.send(envelope, body());
    assert.equal(result.recipients[0]?.reply.code, 250);
    await conn.quit();
  });

  test('verifies against servername instead of the host', async () => {
    const conn = await connectSmtp(opts(server, { tls: 'starttls', ca: cert, servername: 'localhost' }));
    assert.equal(conn.secure, true);
    await conn.quit();
  });

  test('fails with TLS_FAILED and a hint when the certificate is not trusted', async () => {
    await assert.rejects(connectSmtp(opts(server, { tls: 'starttls' })), (err) => {
      assert.ok(isPostboteError(err));
      assert.equal(err.code, 'TLS_FAILED');
      assert.equal(err.temporary, true);
      assert.match(err.hint ?? '', /target\.ca/);
      return true;
    });
  });

  test('fails with TLS_FAILED when the certificate is for another name', async () => {
    const err = await connectSmtp(
      opts(server, { tls: 'starttls', ca: cert, servername: 'other.test' }),
    ).catch((e: unknown) => e);
    assert.ok(isPostboteError(err) && err.code === 'TLS_FAILED', String(err));
  });

  test('accepts an untrusted certificate when tlsVerify is false', async () => {
    const conn = await connectSmtp(opts(server, { tls: 'starttls', tlsVerify: false }));
    assert.equal(conn.secure, true);
    await conn.quit();
  });

  for (const method of ['PLAIN', 'LOGIN'] as const) {
    test(`authenticates with AUTH ${method} after STARTTLS`, async () => {
      const conn = await connectSmtp(
        opts(server, { tls: 'starttls', ca: cert, auth: { user: 'postbote', pass: 'sëcret pass', method } }),
      );
      await conn.send(envelope, body());
      assert.equal(server.received.at(-1)?.user, `${method}:postbote`);
      await conn.quit();
    });
  }

  test('reports wrong credentials as a permanent SMTP_AUTH error with the reply', async () => {
    await assert.rejects(
      connectSmtp(opts(server, { tls: 'starttls', ca: cert, auth: { user: 'postbote', pass: 'wrong' } })),
      (err) =>
        isPostboteError(err) &&
        err.code === 'SMTP_AUTH' &&
        !err.temporary &&
        err.reply?.code === 535 &&
        err.command === 'AUTH PLAIN ****' &&
        /password/.test(err.hint ?? ''),
    );
  });
});

describe('STARTTLS required but not offered', () => {
  let server: TestServer;
  before(async () => {
    server = await startSmtpServer({ hideSTARTTLS: true });
  });
  after(() => server.close());

  test('fails with TLS_REQUIRED and never sends mail in clear', async () => {
    await assert.rejects(
      connectSmtp(opts(server, { tls: 'starttls' })),
      (err) => isPostboteError(err) && err.code === 'TLS_REQUIRED' && /tls: none/.test(err.hint ?? ''),
    );
    assert.equal(server.received.length, 0);
  });
});

describe('implicit TLS', () => {
  let server: TestServer;
  const { key, cert } = selfSignedCert();
  before(async () => {
    server = await startSmtpServer({ secure: true, key, cert, onAuth });
  });
  after(() => server.close());

  test('connects with TLS from the first byte and authenticates', async () => {
    const conn = await connectSmtp(
      opts(server, {
        tls: 'tls',
        ca: cert,
        localAddress: '127.0.0.2',
        auth: { user: 'postbote', pass: 'sëcret pass' },
      }),
    );
    assert.equal(conn.secure, true);
    await conn.send(envelope, body());
    const got = server.received.at(-1);
    assert.equal(got?.user, 'PLAIN:postbote');
    assert.equal(got?.remoteAddress, '127.0.0.2');
    await conn.quit();
  });

  test('fails with TLS_FAILED on an untrusted certificate', async () => {
    await assert.rejects(
      connectSmtp(opts(server, { tls: 'tls' })),
      (err) => isPostboteError(err) && err.code === 'TLS_FAILED',
    );
  });
});

describe('AUTH in clear', () => {
  let server: TestServer;
  before(async () => {
    server = await startSmtpServer({ onAuth, allowInsecureAuth: true, hideSTARTTLS: true });
  });
  after(() => server.close());

  for (const method of ['PLAIN', 'LOGIN'] as const) {
    test(`AUTH ${method} is allowed when the user chose tls: none, and its secrets stay out of the log`, async () => {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          lines.push(chunk.toString());
          cb();
        },
      });
      const logger = pino({ level: 'debug' }, sink);
      const auth = { user: 'postbote', pass: 'sëcret pass', method };
      const conn = await connectSmtp(opts(server, { auth, logger }));
      await conn.send(envelope, body());
      assert.equal(server.received.at(-1)?.user, `${method}:postbote`);
      await conn.quit();
      const log = lines.join('');
      assert.match(log, /C: AUTH /);
      assert.match(log, /C: MAIL FROM:<a@x\.test>/);
      assert.match(log, /S: 250/);
      const secrets = [
        'sëcret',
        Buffer.from('sëcret pass').toString('base64'),
        Buffer.from('\0postbote\0sëcret pass').toString('base64'),
        Buffer.from('postbote').toString('base64'),
      ];
      for (const secret of secrets) assert.equal(log.includes(secret), false, `log contains ${secret}`);
    });
  }

  test('turns 530 to MAIL without configured auth into SMTP_REFUSED_CLIENT', async () => {
    const conn = await connectSmtp(opts(server));
    await assert.rejects(conn.send(envelope, body()), (err) => {
      assert.ok(isPostboteError(err));
      assert.equal(err.code, 'SMTP_REFUSED_CLIENT');
      assert.equal(err.temporary, true);
      assert.equal(err.reply?.code, 530);
      assert.match(err.hint ?? '', /target\.auth.*AnonymousUsers/);
      return true;
    });
    assert.equal(conn.closed, false, 'the connection stays usable');
    await conn.quit();
  });
});
