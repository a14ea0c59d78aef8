// Access tokens: cached until shortly before expiry, refreshed, rotation stored back, revocation typed.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { startFakeProvider } from '../../test/support/oauth-provider.js';
import type { PostboteError } from '../errors.js';
import { AccessTokens, REFRESH_MARGIN_MS } from './access-tokens.js';
import { TokenStore } from './token-store.js';

async function setup(rotate: boolean) {
  const provider = await startFakeProvider({ user: 'info', lifetime: 3600, rotate });
  const store = new TokenStore(
    join(mkdtempSync(join(tmpdir(), 'postbote-oauth-')), 'info.token'),
    randomBytes(32),
    'info',
  );
  store.write({ refreshToken: provider.issueRefreshToken(), obtainedAt: 0 });
  const clock = { t: 1_000_000 };
  const tokens = new AccessTokens({
    mailbox: 'info',
    endpoints: { deviceEndpoint: provider.deviceEndpoint, tokenEndpoint: provider.tokenEndpoint, scopes: [] },
    clientId: 'client-1',
    store,
    now: () => clock.t,
  });
  const refreshes = () => provider.requests.filter((r) => r.form.grant_type === 'refresh_token').length;
  return { provider, store, clock, tokens, refreshes };
}

describe('access tokens', () => {
  test('one refresh serves until the margin before expiry, then a new token is fetched', async () => {
    const { provider, clock, tokens, refreshes } = await setup(false);
    try {
      const first = await tokens.get();
      assert.equal(await tokens.get(), first);
      clock.t += 3600_000 - REFRESH_MARGIN_MS - 1000;
      assert.equal(await tokens.get(), first, 'still well within its lifetime');
      assert.equal(refreshes(), 1);
      clock.t += 2000;
      const second = await tokens.get();
      assert.notEqual(second, first);
      assert.equal(refreshes(), 2);
    } finally {
      await provider.close();
    }
  });

  test('concurrent callers share one refresh', async () => {
    const { provider, tokens, refreshes } = await setup(true);
    try {
      const [a, b] = await Promise.all([tokens.get(), tokens.get()]);
      assert.equal(a, b);
      assert.equal(refreshes(), 1);
    } finally {
      await provider.close();
    }
  });

  test('a rotated refresh token is stored back and used next time', async () => {
    const { provider, store, clock, tokens, refreshes } = await setup(true);
    try {
      const before = store.read().refreshToken;
      await tokens.get();
      const after = store.read().refreshToken;
      assert.notEqual(after, before);
      clock.t += 3600_000;
      await tokens.get();
      assert.equal(refreshes(), 2, 'the old token would have been refused: the stored one was used');
      assert.equal(provider.requests.at(-1)?.form.refresh_token, after);
    } finally {
      await provider.close();
    }
  });

  test('a revoked consent is OAUTH_REVOKED, permanent, with the login command', async () => {
    const { provider, tokens } = await setup(false);
    try {
      provider.revoke();
      await assert.rejects(tokens.get(), (e: PostboteError) => {
        assert.equal(e.code, 'OAUTH_REVOKED');
        assert.equal(e.temporary, false);
        assert.match(e.reply?.text ?? '', /invalid_grant/);
        assert.match(e.hint ?? '', /postbote oauth login --mailbox info/);
        return true;
      });
    } finally {
      await provider.close();
    }
  });

  test('an unreachable endpoint is temporary', async () => {
    const { provider, tokens } = await setup(false);
    await provider.close();
    await assert.rejects(tokens.get(), (e: PostboteError) => e.code === 'OAUTH_FAILED' && e.temporary);
  });
});
