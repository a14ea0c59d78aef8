// Client against the in-process server over STLS and implicit TLS, with a throwaway self-signed
// certificate: verification on by default, no credentials before TLS when STLS is required.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import tlsModule from 'node:tls';
import { seenCertificates } from '../alerts/certificates.js';
import { openPop3 } from './client.js';
import { openSocket } from './connect.js';
import type { Pop3Options } from './options.js';
import { type Pop3Server, type Pop3ServerOptions, startPop3Server } from './server/index.js';

const MESSAGE = Buffer.from('Subject: over TLS\r\n\r\n.dot\r\nbody\r\n');
const SECRET_COMMANDS = new Set(['USER', 'PASS', 'APOP', 'AUTH']);

let dir: string;
let key: string;
let cert: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'postbote-pop3-tls-'));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost']
      .concat(['-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'])
      .concat(['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]),
    { stdio: 'ignore' },
  );
  key = readFileSync(join(dir, 'key.pem'), 'utf8');
  cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts a server that records every command verb it receives, and whether TLS was on by then. */
async function start(extra: Partial<Pop3ServerOptions>): Promise<{ server: Pop3Server; seen: string[] }> {
  const seen: string[] = [];
  const server = await startPop3Server({
    users: { info: { password: 'pw', messages: [MESSAGE] } },
    hooks: { onCommand: (c) => void seen.push(c.command) },
    ...extra,
  });
  return { server, seen };
}

function options(server: Pop3Server, extra: Partial<Pop3Options>): Pop3Options {
  return { host: 'localhost', port: server.port, tls: 'none', user: 'info', password: 'pw', ...extra };
}

describe('POP3 over TLS', () => {
  test('STLS upgrades before any credential is sent, then fetches', async () => {
    const { server, seen } = await start({ tls: { key, cert } });
    try {
      const s = await openPop3(options(server, { tls: 'starttls', ca: cert }));
      assert.equal(s.secure, true);
      assert.equal(s.capabilities.has('STLS'), false, 'CAPA asked again after TLS');
      const [m] = (await s.list()).messages;
      assert.ok((await buffer(s.retrieve(m!))).equals(MESSAGE));
      await s.close();
      const firstSecret = seen.findIndex((c) => SECRET_COMMANDS.has(c));
      assert.ok(seen.indexOf('STLS') >= 0 && seen.indexOf('STLS') < firstSecret, seen.join(' '));
    } finally {
      await server.close();
    }
  });

  test('implicit TLS (POP3S) verifies against the given CA', async () => {
    const { server } = await start({ tls: { key, cert, implicitTls: true } });
    try {
      const s = await openPop3(options(server, { tls: 'tls', ca: cert, host: '127.0.0.1' }));
      assert.equal(s.secure, true);
      assert.equal((await s.list()).messages.length, 1);
      await s.close();
    } finally {
      await server.close();
    }
  });

  test('STLS required but not offered: TLS_REQUIRED, and the server never saw USER or PASS', async () => {
    const { server, seen } = await start({});
    try {
      await assert.rejects(openPop3(options(server, { tls: 'starttls' })), {
        code: 'TLS_REQUIRED',
        temporary: false,
      });
      await server.idle();
      assert.deepEqual(
        seen.filter((c) => SECRET_COMMANDS.has(c)),
        [],
      );
    } finally {
      await server.close();
    }
  });

  test('STLS offered but refused: TLS_REQUIRED, no credentials sent', async () => {
    const refuse = (c: { command: string }) =>
      c.command === 'STLS' ? { reply: '-ERR TLS unavailable' } : undefined;
    const seen: string[] = [];
    const server = await startPop3Server({
      users: { info: { password: 'pw', messages: [] } },
      tls: { key, cert },
      hooks: {
        onCommand: (c) => {
          seen.push(c.command);
          return refuse(c);
        },
      },
    });
    try {
      await assert.rejects(openPop3(options(server, { tls: 'starttls', ca: cert })), {
        code: 'TLS_REQUIRED',
        reply: { code: '-ERR', text: 'TLS unavailable' },
      });
      await server.idle();
      assert.deepEqual(
        seen.filter((c) => SECRET_COMMANDS.has(c)),
        [],
      );
    } finally {
      await server.close();
    }
  });

  for (const mode of ['starttls', 'tls'] as const) {
    test(`${mode}: an untrusted certificate fails with TLS_FAILED and a hint; tlsVerify false accepts it`, async () => {
      const { server, seen } = await start({ tls: { key, cert, implicitTls: mode === 'tls' } });
      try {
        await assert.rejects(
          openPop3(options(server, { tls: mode })),
          (e: Error & { code?: string; hint?: string }) => {
            assert.equal(e.code, 'TLS_FAILED');
            assert.match(e.hint ?? '', /ca:.*tlsVerify: false/);
            return true;
          },
        );
        assert.deepEqual(
          seen.filter((c) => SECRET_COMMANDS.has(c)),
          [],
        );
        const s = await openPop3(options(server, { tls: mode, tlsVerify: false }));
        assert.equal(s.secure, true);
        await s.close();
      } finally {
        await server.close();
      }
    });
  }

  test('a certificate for another name fails with TLS_FAILED naming servername', async () => {
    const { server } = await start({ tls: { key, cert, implicitTls: true } });
    try {
      await assert.rejects(
        openPop3(options(server, { tls: 'tls', ca: cert, servername: 'pop.example.com' })),
        {
          code: 'TLS_FAILED',
          hint: /servername/,
        },
      );
    } finally {
      await server.close();
    }
  });
  test('a second connection resumes the TLS session; one made without verification is never reused for a verified one', async () => {
    const { server } = await start({ tls: { key, cert, implicitTls: true } });
    try {
      // Unverified first: its session must not let a verifying connection skip the check.
      const loose = await openPop3(options(server, { tls: 'tls', tlsVerify: false }));
      await loose.close();
      await assert.rejects(openPop3(options(server, { tls: 'tls' })), { code: 'TLS_FAILED' });

      const verified = options(server, { tls: 'tls', ca: cert });
      const first = await openPop3(verified);
      await first.list();
      await first.close();
      const again = (await openSocket(verified, 'test', 5000)) as TLSSocket;
      try {
        assert.equal(again.isSessionReused(), true, 'second handshake resumed');
        assert.equal(again.authorized, true);
      } finally {
        again.destroy();
      }
    } finally {
      await server.close();
    }
  });

  test('reads the certificate for the expiry alert at the first handshake, not again at every full one within the hour', async () => {
    const { server } = await start({ tls: { key, cert, implicitTls: true } });
    try {
      const o = options(server, { tls: 'tls', ca: cert });
      const seen = () => seenCertificates().find((c) => c.server === `localhost:${server.port}`);
      await (await openPop3(o)).close();
      const first = seen();
      assert.ok(first && Number.isFinite(first.validTo), 'read at the first handshake');
      await sleep(20);
      // Another trust setting key for resumption: a full handshake, with the same certificate.
      await (await openPop3({ ...o, servername: 'localhost' })).close();
      await (await openPop3(o)).close();
      assert.equal(seen()?.seenAt, first.seenAt, 'not read again within the hour');
    } finally {
      await server.close();
    }
  });

  test('connections trusting the system roots share one secure context instead of building one each', async () => {
    const { server } = await start({ tls: { key, cert, implicitTls: true } });
    const original = tlsModule.createSecureContext;
    let built = 0;
    tlsModule.createSecureContext = (...args) => {
      built++;
      return original(...args);
    };
    syncBuiltinESMExports();
    try {
      // No ca: the system roots (the usual provider); unverified, as the test certificate is self-signed.
      for (let i = 0; i < 3; i++)
        (await openSocket(options(server, { tls: 'tls', tlsVerify: false }), 'test', 5000)).destroy();
      assert.ok(built <= 1, `${built} secure contexts built for 3 connections`);
    } finally {
      tlsModule.createSecureContext = original;
      syncBuiltinESMExports();
      await server.close();
    }
  });
});
