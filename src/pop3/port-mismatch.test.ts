// A port that speaks the other TLS mode than configured: recognised within seconds (not after the
// 30 s greeting timeout) and reported with the setting to change, not an OpenSSL string.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { isPostboteError } from '../errors.js';
import { selfSignedCert } from '../smtp/test-support.test.js';
import { openPop3 } from './client.js';

// Far below the 30 s greeting timeout: the mismatch must be recognised, not waited out.
const FAST_MS = 8_000;

let tlsServer: tls.Server;
let plainServer: net.Server;
const port = (s: net.Server) => (s.address() as net.AddressInfo).port;

before(async () => {
  const { key, cert } = selfSignedCert();
  // A POP3S server: sends nothing until the TLS handshake is done.
  tlsServer = tls.createServer({ key, cert }, (s) => s.end('+OK ready\r\n'));
  tlsServer.on('tlsClientError', () => {});
  // A plain POP3 server: greets at once, whatever the client sends.
  plainServer = net.createServer((s) => {
    s.on('error', () => {});
    s.write('+OK POP3 ready\r\n');
    s.on('data', () => s.write('-ERR unknown command\r\n'));
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
  const err = await openPop3({ host: '127.0.0.1', user: 'u', password: 'p', ...o }).then(
    (s) => {
      s.abort();
      return undefined;
    },
    (e: unknown) => e,
  );
  assert.ok(isPostboteError(err), String(err));
  return { err, ms: Date.now() - started };
}

describe('POP3 port speaking the other TLS mode', () => {
  for (const mode of ['none', 'starttls'] as const) {
    test(`tls: ${mode} against a TLS port says to set tls: tls, quickly`, async () => {
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
