// resolve.ts: files the configuration names (passwords, CAs) are read relative to the config's folder.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from './index.js';

const dir = mkdtempSync(join(tmpdir(), 'postbote-resolve-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const MINIMAL = 'target: { host: mx.corp.local }\nmailboxes: []\n';

describe('files named in the configuration', () => {
  const withPasswordFile = (file: string) =>
    `${MINIMAL.replace('mailboxes: []', 'mailboxes:')}  - { name: m, host: h.example, user: u, passwordFile: ${file}, deliverTo: [a@b.c] }
`;
  const secrets: [string, string, string][] = [
    ['one trailing newline', 'pw\n', 'pw'],
    ['a CRLF line end', 'pw\r\n', 'pw'],
    ['only one of two newlines', 'pw\n\n', 'pw\n'],
    ['surrounding spaces', ' pw ', ' pw '],
  ];
  for (const [name, content, expected] of secrets) {
    test(`passwordFile keeps the password exactly, trimming ${name}`, () => {
      writeFileSync(join(dir, 'pw-case'), content);
      const config = parseConfig(withPasswordFile('pw-case'), { file: 'p.yaml', baseDir: dir, env: {} });
      assert.equal(config.mailboxes[0]!.password, expected);
    });
  }

  test('an empty passwordFile is an error', () => {
    writeFileSync(join(dir, 'pw-empty'), '\n');
    assert.throws(
      () => parseConfig(withPasswordFile('pw-empty'), { file: 'p.yaml', baseDir: dir, env: {} }),
      (error: unknown) => error instanceof ConfigError && /is empty/.test(error.message) && error.line === 3,
    );
  });

  test('a ca file without a PEM certificate is an error with a conversion hint', () => {
    writeFileSync(join(dir, 'not-pem.crt'), 'binary DER');
    const yaml = 'target: { host: mx.corp.local, ca: not-pem.crt }\nmailboxes: []\n';
    assert.throws(
      () => parseConfig(yaml, { file: 'p.yaml', baseDir: dir, env: {} }),
      (error: unknown) =>
        error instanceof ConfigError && error.path === 'target.ca' && /openssl x509/.test(error.hint ?? ''),
    );
  });

  test('the target password can come from a file too', () => {
    writeFileSync(join(dir, 'target-pw'), 'relay-secret\n');
    const yaml =
      'target: { host: mx.corp.local, auth: { user: pb, passwordFile: target-pw } }\nmailboxes: []\n';
    const config = parseConfig(yaml, { file: 'p.yaml', baseDir: dir, env: {} });
    assert.deepEqual(config.target.auth, {
      user: 'pb',
      password: 'relay-secret',
      passwordFile: join(dir, 'target-pw'),
    });
  });

  test('loadConfig names a configuration file it cannot read', () => {
    assert.throws(
      () => loadConfig(join(dir, 'nope.yaml'), {}),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message === `${join(dir, 'nope.yaml')}:1:1: cannot read the configuration file (ENOENT)`,
    );
  });
});
