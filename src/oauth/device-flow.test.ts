// The device flow's polling states against the fake provider on loopback; time is injected.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type FakeProvider, startFakeProvider } from '../../test/support/oauth-provider.js';
import type { PostboteError } from '../errors.js';
import { type DeviceFlowOptions, pollForToken, requestDeviceCode } from './device-flow.js';

describe('device flow (RFC 8628)', () => {
  let provider: FakeProvider;
  before(async () => {
    provider = await startFakeProvider({ user: 'info' });
  });
  after(() => provider.close());

  function options(waits: number[], clock = { t: 0 }): DeviceFlowOptions {
    return {
      endpoints: {
        deviceEndpoint: provider.deviceEndpoint,
        tokenEndpoint: provider.tokenEndpoint,
        scopes: ['mail', 'offline_access'],
      },
      clientId: 'client-1',
      mailbox: 'info',
      sleep: async (ms) => {
        waits.push(ms);
        clock.t += ms;
      },
      now: () => clock.t,
    };
  }

  test('asks for a code with the client id and scopes, then polls until signed in', async () => {
    provider.setPolls(['authorization_pending', 'authorization_pending', 'ok']);
    const waits: number[] = [];
    const o = options(waits);
    const code = await requestDeviceCode(o);
    assert.equal(code.userCode, 'WDJB-MJHT');
    assert.equal(code.verificationUri, 'https://example.test/device');
    assert.deepEqual(provider.requests.at(-1)?.form, { client_id: 'client-1', scope: 'mail offline_access' });
    const token = await pollForToken(o, code);
    assert.match(token.refreshToken ?? '', /^rt-/);
    assert.deepEqual(waits, [1000, 1000, 1000], 'the interval the provider gave');
  });

  test('slow_down adds 5 seconds to the interval for every later poll', async () => {
    provider.setPolls(['authorization_pending', 'slow_down', 'authorization_pending', 'ok']);
    const waits: number[] = [];
    const o = options(waits);
    await pollForToken(o, await requestDeviceCode(o));
    assert.deepEqual(waits, [1000, 1000, 6000, 6000]);
  });

  for (const [outcome, words] of [
    ['expired_token', /code expired/],
    ['access_denied', /declined/],
  ] as const) {
    test(`${outcome} ends the flow with a permanent error and the login command`, async () => {
      provider.setPolls(['authorization_pending', outcome]);
      const o = options([]);
      await assert.rejects(pollForToken(o, await requestDeviceCode(o)), (e: PostboteError) => {
        assert.equal(e.code, 'OAUTH_FAILED');
        assert.equal(e.temporary, false);
        assert.match(e.message, words);
        assert.match(e.hint ?? '', /oauth login --mailbox info/);
        return true;
      });
    });
  }

  test('stops polling once the code has outlived its expires_in', async () => {
    provider.setPolls(Array(2000).fill('authorization_pending'));
    const waits: number[] = [];
    const o = options(waits);
    await assert.rejects(pollForToken(o, await requestDeviceCode(o)), /code expired/);
    assert.equal(waits.length, 900, '900 s at 1 s per poll');
  });
});
