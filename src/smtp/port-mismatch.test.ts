// A target port that speaks the other TLS mode than target.tls says: recognised within seconds (not
// after the 30 s greeting timeout) and reported with the setting to change, not an OpenSSL string.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { isPostboteError } from '../errors.js';
import { connectSmtp } from './client.js';
import { selfSignedCert } from './test-support.test.js';

// Far below the 30 s greeting timeout: the mismatch must be recognised, not waited out.
const FAST_MS = 8_000;

let tlsServer: tls.Server;
let plainServer: net.Server;
const port = (s: net.Server) => (s.address() as net.AddressInfo).port;

before(async () => {
  const { key, cert } = selfSignedCert();
  // An SMTPS (465) server: silent until the TLS handshake is done.
  tlsServer = tls.createServer({ key, cert }, (s) => s.end('220 smtps ready\r\n'));
  tlsServer.on('tlsClientError', () => {});
  // A plain SMTP server: greets at once, whatever the client sends.
  plainServer = net.createServer((s) => {
    s.on('error', () => {});
    s.write('220 mx.test ESMTP\r\n');
    s.on('data', () => s.write('500 5.5.2 what?\r\n'));
  });
  await Promise.all([
    new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r)),
    new Promise<void>((r) => plainServer.listen(0, '127.0.0.1', r)),
  ]);
});
after(() => {
  tlsServer.close();
  plainServer.close();
});

async function failure(o: { port: number; tls: 'none' | 'starttls' | 'tls' }) {
  const started = Date.now();
  const err = await connectSmtp({ host: '127.0.0.1', helo: 'postbote.test', ...o }).then(
    (c) => {
      c.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.ok(isPostboteError(err), String(err));
  return { err, ms: Date.now() - started };
}

describe('target port speaking the other TLS mode', () => {
  for (const mode of ['none', 'starttls'] as const) {
    test(`tls: ${mode} against an SMTPS port says to set tls: tls, quickly`, async () => {
      const { err, ms } = await failure({ port: port(tlsServer), tls: mode });
      assert.ok(ms < FAST_MS, `took ${ms} ms`);
      assert.equal(err.code, 'TLS_REQUIRED');
      assert.match(err.describe(), new RegExp(`port ${port(tlsServer)} speaks TLS: set tls: tls`));
    });
  }

  test('tls: tls against a plain port says it speaks plain text, without the OpenSSL string', async () => {
    const { err, ms } = await failure({ port: port(plainServer), tls: 'tls' });
    assert.ok(ms < FAST_MS, `took ${ms} ms`);
    assert.equal(err.code, 'TLS_FAILED');
    const text = err.describe();
    assert.match(text, /this port speaks plain text: set tls: starttls or none/);
    assert.doesNotMatch(text, /SSL routines|error:0A|wrong version number/);
  });
});
