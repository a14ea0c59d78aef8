// The receive block: defaults, accepted-domain forms, address ranges, AUTH/TLS rules, listener-only files.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'postbote-receive-config-'));
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
const head = `target: { host: mx.corp.local }
mailboxes: []
receive:
  - name: r
    bindings: ["0.0.0.0:2526", "[::1]:2526"]
`;
const parse = (yaml: string) => parseConfig(yaml, { file: 'postbote.yaml', baseDir: dir });
const fails = (yaml: string, re: RegExp) =>
  assert.throws(
    () => parse(yaml),
    (err: unknown) => err instanceof ConfigError && re.test(err.message),
  );

describe('receive configuration', () => {
  test('a listener-only file (mailboxes: []) with the documented shape parses, with Exchange-like defaults', () => {
    const c = parse(`${head}    remoteIpRanges: ["192.168.1.10", "10.0.0.0/24", "10.0.1.1-10.0.1.20"]
    acceptedDomains: [corp.local, { domain: Team.Example, recipients: [alice, Bob@team.example] }]
    deliver: { maildir: mail }
`);
    assert.deepEqual(c.mailboxes, []);
    const r = c.receive![0]!;
    assert.deepEqual(r.acceptedDomains, [
      { domain: 'corp.local' },
      { domain: 'team.example', recipients: ['alice@team.example', 'bob@team.example'] },
    ]);
    assert.equal(r.auth, 'none');
    assert.equal(r.maxMessageSize, 36 * 1024 * 1024);
    assert.equal(r.maxRecipients, 200);
    assert.deepEqual(r.rateLimits, { connectionsPerMinute: 600, messagesPerMinute: 600 });
    assert.equal(r.maxConnections, 100);
    assert.equal(r.maxConnectionsPerIp, 20);
    assert.deepEqual(r.timeouts, { idle: 300_000, session: 600_000 });
    assert.equal(r.minDataRate, 500);
    assert.deepEqual(r.authFailures, { perSession: 3, delay: 2_000, lockoutAfter: 10, lockout: 900_000 });
    assert.equal(r.allowSenderRouting, false);
    assert.equal(r.deliver.maildir, join(dir, 'mail'));
  });

  test('connection, session and AUTH limits take durations and numbers; nonsense is refused', () => {
    const base = `${head}    remoteIpRanges: []\n    acceptedDomains: [corp.local]\n    deliver: { maildir: m }\n`;
    const r = parse(
      `${base}    maxConnections: 50\n    maxConnectionsPerIp: 5\n    timeouts: { idle: 1m, session: 30m }\n` +
        `    minDataRate: 2000\n    authFailures: { perSession: 1, delay: 500ms, lockoutAfter: 3, lockout: 1h }\n` +
        `    allowSenderRouting: true\n`,
    ).receive![0]!;
    assert.deepEqual(
      [
        r.maxConnections,
        r.maxConnectionsPerIp,
        r.timeouts,
        r.minDataRate,
        r.authFailures,
        r.allowSenderRouting,
      ],
      [
        50,
        5,
        { idle: 60_000, session: 1_800_000 },
        2000,
        { perSession: 1, delay: 500, lockoutAfter: 3, lockout: 3_600_000 },
        true,
      ],
    );
    fails(`${base}    maxConnections: 0\n`, /maxConnections: expected a number from 1/);
    fails(`${base}    timeouts: { session: soon }\n`, /timeouts\.session: expected a duration/);
    fails(`${base}    authFailures: { tries: 3 }\n`, /authFailures/);
  });

  test('an internationalized domain written as Unicode and as A-label is listed twice', () => {
    fails(
      `${head}    remoteIpRanges: []\n    acceptedDomains: [bücher.example, xn--bcher-kva.example]\n    deliver: { maildir: m }\n`,
      /domain xn--bcher-kva\.example is listed twice/,
    );
  });

  test('an empty remoteIpRanges is allowed (it admits no one)', () => {
    const c = parse(
      `${head}    remoteIpRanges: []\n    acceptedDomains: [corp.local]\n    deliver: { lmtp: "127.0.0.1:24" }\n`,
    );
    assert.deepEqual(c.receive![0]!.remoteIpRanges, []);
  });

  test('refuses a reversed range, a foreign recipient and a duplicate domain, each with its line', () => {
    fails(
      `${head}    remoteIpRanges: [10.0.0.9-10.0.0.1]\n    acceptedDomains: [corp.local]\n    deliver: { maildir: m }\n`,
      /postbote\.yaml:6:\d+: receive\[0\]\.remoteIpRanges\[0\]: expected an IP address, CIDR block or range/,
    );
    fails(
      `${head}    remoteIpRanges: []\n    acceptedDomains: [{ domain: corp.local, recipients: [x@other.org] }]\n    deliver: { maildir: m }\n`,
      /acceptedDomains\[0\]\.recipients\[0\]: expected a local part or an address @corp\.local/,
    );
    fails(
      `${head}    remoteIpRanges: []\n    acceptedDomains: [corp.local, CORP.local]\n    deliver: { maildir: m }\n`,
      /domain corp\.local is listed twice/,
    );
  });

  test('auth: required needs users with argon2 hashes and TLS (or allowInsecureAuth)', () => {
    const base = `${head}    remoteIpRanges: []\n    acceptedDomains: [corp.local]\n    deliver: { maildir: m }\n    auth: required\n`;
    fails(base, /auth: required needs at least one user/);
    fails(`${base}    users: [{ user: p, passwordHash: plain-text }]\n`, /expected an argon2 hash/);
    fails(
      `${base}    users: [{ user: p, passwordHash: "${HASH}" }]\n`,
      /without tls would send passwords in clear/,
    );
    const ok = parse(
      `${base}    users: [{ user: p, passwordHash: "${HASH}" }]\n    allowInsecureAuth: true\n`,
    );
    assert.equal(ok.receive![0]!.users[0]!.passwordHash, HASH);
  });

  test('tls reads the certificate and key files', () => {
    writeFileSync(join(dir, 'c.pem'), '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
    writeFileSync(join(dir, 'k.pem'), '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n');
    const c = parse(
      `${head}    remoteIpRanges: []\n    acceptedDomains: [corp.local]\n    deliver: { maildir: m }\n    tls: { cert: c.pem, key: k.pem, required: true }\n`,
    );
    const tls = c.receive![0]!.tls!;
    assert.equal(tls.cert, join(dir, 'c.pem'));
    assert.match(tls.keyPem, /PRIVATE KEY/);
    assert.equal(tls.required, true);
    fails(
      `${head}    remoteIpRanges: []\n    acceptedDomains: [corp.local]\n    deliver: { maildir: m }\n    tls: { cert: missing.pem, key: k.pem }\n`,
      /cannot read certificate file/,
    );
  });
  test('deliver: TLS towards an lmtp or smtp next hop reads its CA; a maildir takes no TLS', () => {
    writeFileSync(join(dir, 'hop-ca.pem'), '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n');
    const base = `${head}    remoteIpRanges: []\n    acceptedDomains: [corp.local]\n`;
    const c = parse(`${base}    deliver: { smtp: "mx.corp.local:25", tls: starttls, ca: hop-ca.pem }\n`);
    const d = c.receive![0]!.deliver;
    assert.equal(d.tls, 'starttls');
    assert.equal(d.tlsVerify, true);
    assert.equal(d.ca, join(dir, 'hop-ca.pem'));
    assert.match(d.caPem ?? '', /BEGIN CERTIFICATE/);
    assert.equal(parse(`${base}    deliver: { lmtp: "127.0.0.1:24" }\n`).receive![0]!.deliver.tls, 'none');
    fails(`${base}    deliver: { maildir: m, tls: starttls }\n`, /not to a maildir/);
    fails(`${base}    deliver: { smtp: "mx.corp.local:25", tls: sometimes }\n`, /tls/);
  });
});
