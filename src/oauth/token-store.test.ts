import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { PostboteError } from '../errors.js';
import { decryptToken, encryptToken, loadKey, parseKey, TokenStore } from './token-store.js';

const key = randomBytes(32);
const token = { refreshToken: 'rt-secret-refresh-token', obtainedAt: 1_700_000_000_000, scope: 'mail' };

describe('token store', () => {
  test('writes the refresh token encrypted, mode 0600, and reads it back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'postbote-oauth-'));
    const store = new TokenStore(join(dir, 'oauth', 'info.token'), key, 'info');
    store.write(token);
    const text = readFileSync(store.file, 'utf8');
    assert.ok(!text.includes('rt-secret-refresh-token'), 'the token is not stored in clear');
    assert.equal(statSync(store.file).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'oauth')).mode & 0o777, 0o700);
    assert.deepEqual(store.read(), token);
  });

  test('a wrong key is refused with what to do', () => {
    const text = encryptToken(token, key, 'info');
    assert.throws(
      () => decryptToken(text, randomBytes(32), 'info'),
      (e: PostboteError) =>
        e.code === 'OAUTH_NOT_LOGGED_IN' &&
        !e.temporary &&
        /wrong key/.test(e.message) &&
        /oauth login --mailbox info/.test(e.hint ?? ''),
    );
  });

  test("another mailbox's file does not decrypt (the name is authenticated)", () => {
    const text = encryptToken(token, key, 'info');
    assert.throws(() => decryptToken(text, key, 'sales'), { code: 'OAUTH_NOT_LOGGED_IN' });
  });

  test('an altered file is refused', () => {
    const parsed = JSON.parse(encryptToken(token, key, 'info'));
    const data = Buffer.from(parsed.data, 'base64');
    data[0] = (data[0] ?? 0) ^ 1;
    parsed.data = data.toString('base64');
    assert.throws(() => decryptToken(JSON.stringify(parsed), key, 'info'), { code: 'OAUTH_NOT_LOGGED_IN' });
  });

  test('a missing file says to sign in first', () => {
    const store = new TokenStore(join(tmpdir(), 'postbote-none', 'x.token'), key, 'info');
    assert.throws(
      () => store.read(),
      (e: PostboteError) => e.code === 'OAUTH_NOT_LOGGED_IN' && /has not been signed in/.test(e.message),
    );
  });

  test('a rewrite keeps mode 0600 even over a leftover temporary file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'postbote-oauth-'));
    const file = join(dir, 'info.token');
    writeFileSync(`${file}.tmp`, 'x', { mode: 0o644 });
    new TokenStore(file, key, 'info').write(token);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });
});

describe('key', () => {
  for (const [text, ok] of [
    ['00'.repeat(32), true],
    [randomBytes(32).toString('base64'), true],
    ['00'.repeat(31), false],
    [randomBytes(16).toString('base64'), false],
    ['not a key', false],
  ] as const) {
    test(`${JSON.stringify(text.slice(0, 12))}… is ${ok ? 'a key' : 'refused'}`, () => {
      assert.equal(parseKey(text) !== undefined, ok);
    });
  }

  test('from a file (trailing newline ignored) or an environment variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'postbote-oauth-'));
    const file = join(dir, 'key');
    writeFileSync(file, `${key.toString('base64')}\n`);
    assert.deepEqual(loadKey({ keyFile: file }), key);
    assert.deepEqual(loadKey({ keyEnv: 'K' }, { K: key.toString('hex') }), key);
    assert.throws(() => loadKey({ keyEnv: 'K' }, {}), /environment variable K is not set/);
    assert.throws(() => loadKey({ keyFile: join(dir, 'none') }), /cannot read the key file/);
  });
});
