// A port that speaks the other TLS mode than configured, for the provider (POP3) and the target (SMTP)
// alike: recognised within seconds (not after the 30 s greeting timeout) and reported with the setting
// to change, not an OpenSSL string.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { isPostboteError } from '../src/errors.js';
import { openPop3 } from '../src/pop3/client.js';
import { connectSmtp } from '../src/smtp/client.js';
import { selfSignedCert } from '../src/smtp/test-support.test.js';

// Far below the 30 s greeting timeout: the mismatch must be recognised, not waited out.
const FAST_MS = 8_000;

type Mode = 'none' | 'starttls' | 'tls';

interface Protocol {
  name: string;
  /** What the server says first, once the connection (and for the TLS port its handshake) is up. */
  greeting: string;
  /** What a plain server answers to anything. */
  refusal: string;
  /** Connects and logs in as far as the port lets it; resolves only if it could. */
  open(port: number, tls: Mode): Promise<unknown>;
}

const protocols: Protocol[] = [
  {
    name: 'POP3 provider',
    greeting: '+OK POP3 ready',
    refusal: '-ERR unknown command',
    open: async (port, tls) =>
      (await openPop3({ host: '127.0.0.1', user: 'u', password: 'p', port, tls })).abort(),
  },
  {
    name: 'SMTP target',
    greeting: '220 mx.test ESMTP',
    refusal: '500 5.5.2 what?',
    open: async (port, tls) =>
      (await connectSmtp({ host: '127.0.0.1', helo: 'postbote.test', port, tls })).close(),
  },
];

const port = (s: net.Server) => (s.address() as net.AddressInfo).port;

for (const p of protocols) {
  describe(`${p.name}: a port speaking the other TLS mode`, () => {
    let tlsServer: tls.Server;
    let plainServer: net.Server;

    before(async () => {
      const { key, cert } = selfSignedCert();
      // Implicit TLS (POP3S 995, SMTPS 465): silent until the handshake is done.
      tlsServer = tls.createServer({ key, cert }, (s) => s.end(`${p.greeting}\r\n`));
      tlsServer.on('tlsClientError', () => {});
      // Plain text: greets at once, refuses whatever the client sends.
      plainServer = net.createServer((s) => {
        s.on('error', () => {});
        s.write(`${p.greeting}\r\n`);
        s.on('data', () => s.write(`${p.refusal}\r\n`));
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

    async function failure(on: net.Server, mode: Mode) {
      const started = Date.now();
      const err = await p.open(port(on), mode).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(isPostboteError(err), String(err));
      return { err, ms: Date.now() - started };
    }

    for (const mode of ['none', 'starttls'] as const) {
      test(`tls: ${mode} against a TLS port says to set tls: tls, quickly`, async () => {
        const { err, ms } = await failure(tlsServer, mode);
        assert.ok(ms < FAST_MS, `took ${ms} ms`);
        assert.equal(err.code, 'TLS_REQUIRED');
        assert.match(err.describe(), new RegExp(`port ${port(tlsServer)} speaks TLS: set tls: tls`));
      });
    }

    test('tls: tls against a plain port says it speaks plain text, without the OpenSSL string', async () => {
      const { err, ms } = await failure(plainServer, 'tls');
      assert.ok(ms < FAST_MS, `took ${ms} ms`);
      assert.equal(err.code, 'TLS_FAILED');
      const text = err.describe();
      assert.match(text, /this port speaks plain text: set tls: starttls or none/);
      assert.doesNotMatch(text, /SSL routines|error:0A|wrong version number/);
    });
  });
}
