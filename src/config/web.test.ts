import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, parseConfig, redactConfig } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'postbote-config-web-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const BASE = 'target: { host: mx.corp.local }\nmailboxes: []\n';
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$0123456789abcdefghijklmnopqrstuvwxyzABCDE';
const TOKEN_HASH = 'a'.repeat(64);

function parse(web: string) {
  return parseConfig(`${BASE}web:\n${web}`, { file: 'postbote.yaml', baseDir: dir, env: {} });
}

function error(web: string): ConfigError {
  try {
    parse(web);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail('expected a ConfigError');
}

describe('web configuration', () => {
  test('reads users, tokens, TLS files (relative to the file) and lifetimes', () => {
    writeFileSync(join(dir, 'web.crt'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    writeFileSync(join(dir, 'web.key'), '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
    const config = parse(`  listen: 0.0.0.0:8443
  tls: { cert: web.crt, key: web.key }
  users: [{ user: admin, passwordHash: "${HASH}" }]
  apiTokens: [{ name: prometheus, tokenHash: "sha256:${TOKEN_HASH.toUpperCase()}" }]
  sessionLifetime: 1h
  publicMetrics: true
`);
    const web = config.web!;
    assert.equal(web.listen, '0.0.0.0:8443');
    assert.equal(web.tls?.cert, join(dir, 'web.crt'));
    assert.match(web.tls?.keyPem ?? '', /PRIVATE KEY/);
    assert.deepEqual(web.users, [{ user: 'admin', passwordHash: HASH }]);
    assert.deepEqual(web.apiTokens, [{ name: 'prometheus', tokenHash: TOKEN_HASH }]);
    assert.equal(web.sessionLifetime, 3_600_000);
    assert.equal(web.publicMetrics, true);

    const shown = JSON.stringify(redactConfig(config));
    assert.doesNotMatch(shown, /argon2|aaaaaaaa|PRIVATE KEY/);
  });

  test('refuses a plain password where a hash belongs, and says how to make one', () => {
    const e = error('  users: [{ user: admin, passwordHash: hunter2 }]\n');
    assert.equal(e.path, 'web.users[0].passwordHash');
    assert.match(e.issues[0]!.message, /expected an argon2 hash/);
    assert.doesNotMatch(e.issues[0]!.message, /hunter2/, 'the secret-looking value is not echoed');
    assert.match(e.hint ?? '', /postbote hash-password/);
  });

  test('refuses a token hash that is not 64 hex digits', () => {
    const e = error('  apiTokens: [{ name: ci, tokenHash: abc }]\n');
    assert.equal(e.path, 'web.apiTokens[0].tokenHash');
    assert.match(e.hint ?? '', /sha256sum/);
  });

  test('a missing key file is reported with its path', () => {
    const e = error('  tls: { cert: web.crt, key: missing.key }\n');
    assert.equal(e.path, 'web.tls.key');
    assert.match(e.issues[0]!.message, /cannot read key file/);
  });
});
