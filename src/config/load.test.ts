// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the tests write ${VAR} references as YAML text
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig, parseConfig, redactConfig } from './index.js';
import { instanceLabel } from './instance.js';

const dir = mkdtempSync(join(tmpdir(), 'postbote-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const FULL = `state: ./state
log: { level: debug }
target:
  host: exchange.corp.local
  port: 2526
  protocol: lmtp
  localAddress: 192.168.1.10
  tls: tls
  tlsVerify: false
  servername: mail.corp.local
  helo: postbote.corp.local
  auth: { user: postbote, password: "t0p: secret" }
  maxConnections: 2
  timeouts: { connect: 5s, command: 30, dataEnd: 10m }
delivery:
  envelopeSender: bounces@corp.local
  retry: { initial: 30s, max: 2h, expireAfter: 3d }
  maxMessageSize: 25MB
  maxReceivedHeaders: 40
  postmaster: postmaster@corp.local
scheduler: { concurrency: 4, perHostConnections: 1, idleConnections: 3, interval: 10m, shutdownGrace: 45s }
mailboxes:
  - name: info
    host: pop.provider.example
    user: info@example.com
    password: \${INFO_PASSWORD}
    deliverTo: [info@corp.local, archive@corp.local]
  - name: catchall
    protocol: imap
    host: imap.provider.example
    port: 10993
    tls: tls
    ca: certs/provider.pem
    user: catchall@example.com
    passwordFile: secrets/catchall
    auth: plain
    catchAll:
      domains: [Example.com]
      rewriteDomain: corp.local
      fallback: postmaster@corp.local
      headers: [Delivered-To, X-Original-To]
      aliases: { sales: alice@corp.local, "*@example.org": [bob@corp.local, carol@corp.local] }
    fallback: postmaster@corp.local
    envelopeSender: mailbox
    keep: true
    deleteAfterDays: 30
    interval: 90
    enabled: false
    maxMessageSize: 512KB
    timeouts: { connect: 10s, greeting: 20s, command: 1m, idle: 29m, message: 2m }
receive:
  - name: from-connector
    bindings: ["0.0.0.0:2526", "[::1]:2526"]
    remoteIpRanges: [192.168.1.10, 10.0.0.0/8]
    acceptedDomains: [corp.local]
    deliver: { maildir: mail }
web: { listen: "127.0.0.1:8025" }
`;

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
mkdirSync(join(dir, 'certs'));
mkdirSync(join(dir, 'secrets'));
writeFileSync(join(dir, 'certs/provider.pem'), PEM);
writeFileSync(join(dir, 'secrets/catchall'), 'file secret\n');

describe('a full valid configuration', () => {
  const file = join(dir, 'postbote.yaml');
  writeFileSync(file, FULL);
  const config = loadConfig(file, { INFO_PASSWORD: 'env secret' });

  test('resolves state against the config folder and records its kind', () => {
    assert.equal(config.state, join(dir, 'state'));
    assert.equal(config.stateKind, 'sqlite');
    assert.equal(config.log.level, 'debug');
  });

  test('keeps the target settings, with durations in milliseconds', () => {
    const { target } = config;
    assert.equal(target.port, 2526);
    assert.equal(target.protocol, 'lmtp');
    assert.equal(target.localAddress, '192.168.1.10');
    assert.equal(target.tlsVerify, false);
    assert.deepEqual(target.auth, { user: 'postbote', password: 't0p: secret' });
    assert.deepEqual(target.timeouts, { connect: 5000, command: 30_000, dataEnd: 600_000 });
  });

  test('converts delivery and scheduler durations and sizes', () => {
    assert.equal(config.delivery.envelopeSender, 'bounces@corp.local');
    assert.deepEqual(config.delivery.retry, { initial: 30_000, max: 7_200_000, expireAfter: 259_200_000 });
    assert.equal(config.delivery.maxMessageSize, 25 * 1024 * 1024);
    assert.deepEqual(config.scheduler, {
      concurrency: 4,
      perHostConnections: 1,
      idleConnections: 3,
      interval: 600_000,
      shutdownGrace: 45_000,
      leaseTtl: 30_000,
    });
  });

  test('fills mailbox defaults from the protocol and the other sections', () => {
    const info = config.mailboxes[0]!;
    assert.equal(info.protocol, 'pop3');
    assert.equal(info.tls, 'tls');
    assert.equal(info.port, 995);
    assert.equal(info.password, 'env secret');
    assert.equal(info.auth, 'auto');
    assert.equal(info.keep, false);
    assert.equal(info.enabled, true);
    assert.equal(info.interval, 600_000);
    assert.equal(info.maxMessageSize, 25 * 1024 * 1024);
    assert.equal(info.envelopeSender, 'bounces@corp.local');
    assert.deepEqual(info.deliverTo, ['info@corp.local', 'archive@corp.local']);
  });

  test('reads passwordFile and ca relative to the config folder', () => {
    const catchall = config.mailboxes[1]!;
    assert.equal(catchall.password, 'file secret');
    assert.equal(catchall.passwordFile, join(dir, 'secrets/catchall'));
    assert.equal(catchall.ca, join(dir, 'certs/provider.pem'));
    assert.equal(catchall.caPem, PEM);
    assert.equal(catchall.port, 10993);
    assert.deepEqual(catchall.timeouts, {
      connect: 10_000,
      greeting: 20_000,
      command: 60_000,
      idle: 1_740_000,
      message: 120_000,
    });
    assert.equal(catchall.interval, 90_000);
    assert.equal(catchall.maxMessageSize, 512 * 1024);
    assert.deepEqual(catchall.deliverTo, []);
  });

  test('normalises the catch-all block: lower-case domains, alias values as lists', () => {
    assert.deepEqual(config.mailboxes[1]!.catchAll, {
      domains: ['example.com'],
      rewriteDomain: 'corp.local',
      fallback: 'postmaster@corp.local',
      headers: ['Delivered-To', 'X-Original-To'],
      aliases: { sales: ['alice@corp.local'], '*@example.org': ['bob@corp.local', 'carol@corp.local'] },
      duplicateWindow: 7 * 86_400_000,
    });
  });

  test('accepts the receive and web blocks, resolving the maildir path', () => {
    assert.equal(config.receive?.[0]?.deliver.maildir, join(dir, 'mail'));
    assert.deepEqual(config.web, {
      listen: '127.0.0.1:8025',
      users: [],
      apiTokens: [],
      sessionLifetime: 8 * 3_600_000,
      publicMetrics: false,
    });
  });

  test('redactConfig masks every password and leaves the config untouched', () => {
    const shown = JSON.stringify(redactConfig(config));
    assert.doesNotMatch(shown, /env secret|file secret|t0p/);
    assert.match(shown, /"password":"\*\*\*\*"/);
    assert.equal(config.mailboxes[0]!.password, 'env secret');
  });
});

const MINIMAL = 'target: { host: mx.corp.local }\nmailboxes: []\n';

describe('defaults', () => {
  test('a minimal file gets every default filled', () => {
    const config = parseConfig(MINIMAL, { file: 'p.yaml', baseDir: '/srv/postbote', env: {} });
    assert.equal(config.state, '/srv/postbote/data');
    assert.equal(config.target.port, 25);
    assert.equal(config.target.protocol, 'smtp');
    assert.equal(config.target.tls, 'starttls');
    assert.equal(config.target.tlsVerify, true);
    assert.equal(config.target.maxConnections, 10);
    assert.ok(config.target.helo.length > 0);
    assert.equal(config.log.level, 'info');
    assert.equal(config.delivery.envelopeSender, 'return-path');
    assert.deepEqual(config.delivery.retry, { initial: 60_000, max: 3_600_000, expireAfter: 432_000_000 });
    assert.equal(config.delivery.maxMessageSize, 100 * 1024 * 1024);
    assert.equal(config.delivery.maxReceivedHeaders, 30);
    assert.deepEqual(config.scheduler, {
      concurrency: 10,
      perHostConnections: 10,
      idleConnections: 4,
      interval: 300_000,
      shutdownGrace: 30_000,
      leaseTtl: 30_000,
    });
    assert.equal(config.receive, undefined);
    assert.equal(config.web, undefined);
  });

  const ports: [string, string, number][] = [
    ['pop3', 'tls', 995],
    ['pop3', 'starttls', 110],
    ['pop3', 'none', 110],
    ['imap', 'tls', 993],
    ['imap', 'starttls', 143],
    ['imap', 'none', 143],
  ];
  for (const [protocol, tls, port] of ports) {
    test(`a ${protocol} mailbox with tls: ${tls} defaults to port ${port}`, () => {
      const yaml = `${MINIMAL.replace('mailboxes: []', 'mailboxes:')}
  - { name: m, protocol: ${protocol}, tls: ${tls}, host: h.example, user: u, password: p, deliverTo: [a@b.c] }
`;
      assert.equal(parseConfig(yaml, { file: 'p.yaml', baseDir: '/', env: {} }).mailboxes[0]!.port, port);
    });
  }

  test('a postgres:// state is kept as written and redacted for display', () => {
    const config = parseConfig(
      `state: postgres://pb:hunter2@db.corp.local/postbote\nspool: spool\n${MINIMAL}`,
      {
        file: 'p.yaml',
        baseDir: '/srv',
        env: {},
      },
    );
    assert.equal(config.stateKind, 'postgres');
    assert.equal(config.spool, '/srv/spool', 'relative to the configuration file');
    assert.equal(config.state, 'postgres://pb:hunter2@db.corp.local/postbote');
    assert.equal(
      (redactConfig(config) as { state: string }).state,
      'postgres://pb:****@db.corp.local/postbote',
    );
  });

  test('a password given as a URL parameter of a postgres:// state is masked too', () => {
    const config = parseConfig(
      `state: postgres://pb@db.corp.local/postbote?sslmode=verify-full&password=hunter2\nspool: /s\n${MINIMAL}`,
      { file: 'p.yaml', baseDir: '/srv', env: {} },
    );
    assert.equal(
      (redactConfig(config) as { state: string }).state,
      'postgres://pb@db.corp.local/postbote?sslmode=verify-full&password=****',
    );
  });

  test('a postgres:// state needs a local spool folder; a folder state refuses one', () => {
    const opts = { file: 'p.yaml', baseDir: '/srv', env: {} };
    assert.throws(
      () => parseConfig(`state: postgres://pb@db.corp.local/postbote\n${MINIMAL}`, opts),
      /needs spool: a local folder/,
    );
    assert.throws(
      () => parseConfig(`state: ./data\nspool: /var/spool/pb\n${MINIMAL}`, opts),
      /only for a postgres/,
    );
  });

  test('several instances on one database: instance: names this one, scheduler.leaseTtl at least 3 s', () => {
    const opts = { file: 'p.yaml', baseDir: '/srv', env: {} };
    const pgState = 'state: postgres://pb@db.corp.local/postbote\nspool: /var/spool/pb\n';
    const config = parseConfig(`${pgState}instance: mx1\nscheduler: { leaseTtl: 10s }\n${MINIMAL}`, opts);
    assert.equal(config.instance, 'mx1');
    assert.equal(config.scheduler.leaseTtl, 10_000);
    assert.equal(instanceLabel(config), 'mx1');
    // Without a name: the host plus the spool folder, so two instances on one host differ.
    assert.equal(instanceLabel(parseConfig(`${pgState}${MINIMAL}`, opts)), `${hostname()}:pb`);
    assert.throws(
      () => parseConfig(`${pgState}scheduler: { leaseTtl: 1s }\n${MINIMAL}`, opts),
      /leaseTtl must be at least 3s/,
    );
  });
});

describe('environment variables', () => {
  const mailbox = (password: string) =>
    `${MINIMAL.replace('mailboxes: []', 'mailboxes:')}  - name: m
    host: h.example
    user: u
    password: ${password}
    deliverTo: [a@b.c]
`;
  const cases: [string, string, NodeJS.ProcessEnv, string][] = [
    ['substitutes a variable', '${PW}', { PW: 'abc' }, 'abc'],
    ['substitutes inside a string', '"x-${PW}-y"', { PW: 'abc' }, 'x-abc-y'],
    ['uses the default when unset', '${PW:-fallback}', {}, 'fallback'],
    ['uses the default when empty', '${PW:-fallback}', { PW: '' }, 'fallback'],
    ['prefers the variable over the default', '${PW:-fallback}', { PW: 'abc' }, 'abc'],
    ['keeps YAML structure characters as text', '${PW}', { PW: 'a: b # c' }, 'a: b # c'],
    ['reads $${ as a literal ${', '"$${PW}"', { PW: 'abc' }, '${PW}'],
    ['takes numeric text as a string', '${PW}', { PW: '123456' }, '123456'],
  ];
  for (const [name, value, env, expected] of cases) {
    test(name, () => {
      assert.equal(
        parseConfig(mailbox(value), { file: 'p.yaml', baseDir: '/', env }).mailboxes[0]!.password,
        expected,
      );
    });
  }

  test('numbers and booleans from variables are accepted as their text', () => {
    const yaml = 'target: { host: mx.corp.local, port: "${PORT}", tlsVerify: "${VERIFY}" }\nmailboxes: []\n';
    const config = parseConfig(yaml, {
      file: 'p.yaml',
      baseDir: '/',
      env: { PORT: '2526', VERIFY: 'false' },
    });
    assert.equal(config.target.port, 2526);
    assert.equal(config.target.tlsVerify, false);
  });
});
