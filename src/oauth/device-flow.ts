// The device authorization grant (RFC 8628): ask for a user code, show where to enter it, poll the token
// endpoint at the interval the provider gave until the user has signed in, refused, or the code expired.
import { PostboteError } from '../errors.js';
import type { OAuthEndpoints } from './providers.js';
import { oauthError, postForm, type TokenReply, tokenFields } from './token-endpoint.js';

// RFC 8628 3.5: without an interval the client waits 5 s; slow_down adds 5 s each time.
const DEFAULT_INTERVAL_S = 5;
const SLOW_DOWN_S = 5;
// A code the provider gives no lifetime for: 15 minutes, Entra ID's and Google's own.
const DEFAULT_EXPIRES_S = 900;

export interface DeviceCode {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete?: string;
  /** Seconds. */
  expiresIn: number;
  interval: number;
  /** The provider's own instruction text (Entra ID sends one). */
  message?: string;
}

export interface DeviceFlowOptions {
  endpoints: OAuthEndpoints;
  clientId: string;
  clientSecret?: string;
  mailbox: string;
  /** Injected by tests; real time otherwise. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export async function requestDeviceCode(o: DeviceFlowOptions): Promise<DeviceCode> {
  const where = `oauth ${new URL(o.endpoints.deviceEndpoint).host}`;
  const reply = await postForm(o.endpoints.deviceEndpoint, {
    client_id: o.clientId,
    scope: o.endpoints.scopes.join(' '),
    ...(o.clientSecret ? { client_secret: o.clientSecret } : {}),
  });
  if (reply.kind === 'error') throw oauthError(reply.error, reply.description, where, o.mailbox);
  if (reply.kind === 'invalid') {
    throw new PostboteError('OAUTH_FAILED', `device endpoint answered no device code (${reply.why})`, {
      temporary: true,
      where,
      hint: 'check oauth2.deviceEndpoint',
    });
  }
  const b = reply.body;
  // Google calls it verification_url (the draft's name), RFC 8628 verification_uri.
  const uri = b.verification_uri ?? b.verification_url;
  if (typeof b.device_code !== 'string' || typeof b.user_code !== 'string' || typeof uri !== 'string') {
    throw new PostboteError(
      'OAUTH_FAILED',
      'device endpoint reply lacks device_code, user_code or verification_uri',
      {
        temporary: true,
        where,
      },
    );
  }
  const interval = Number(b.interval);
  const expires = Number(b.expires_in);
  return {
    deviceCode: b.device_code,
    userCode: b.user_code,
    verificationUri: uri,
    ...(typeof b.verification_uri_complete === 'string'
      ? { verificationUriComplete: b.verification_uri_complete }
      : {}),
    expiresIn: Number.isFinite(expires) && expires > 0 ? expires : DEFAULT_EXPIRES_S,
    interval: Number.isFinite(interval) && interval > 0 ? interval : DEFAULT_INTERVAL_S,
    ...(typeof b.message === 'string' ? { message: b.message } : {}),
  };
}

/** Polls until the user signed in; the reply carries the refresh token to store. */
export async function pollForToken(o: DeviceFlowOptions, code: DeviceCode): Promise<TokenReply> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = o.now ?? Date.now;
  const where = `oauth ${new URL(o.endpoints.tokenEndpoint).host}`;
  const deadline = now() + code.expiresIn * 1000;
  let interval = code.interval;
  for (;;) {
    await sleep(interval * 1000);
    if (now() >= deadline) throw expired(where, o.mailbox);
    const reply = await postForm(o.endpoints.tokenEndpoint, {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: code.deviceCode,
      client_id: o.clientId,
      ...(o.clientSecret ? { client_secret: o.clientSecret } : {}),
    });
    if (reply.kind === 'ok') {
      const token = tokenFields(reply.body);
      if (!token)
        throw new PostboteError('OAUTH_FAILED', 'token reply without access_token', {
          temporary: true,
          where,
        });
      if (!token.refreshToken) {
        throw new PostboteError('OAUTH_FAILED', 'the provider issued no refresh token', {
          temporary: false,
          where,
          hint: 'ask for offline access (Microsoft: the offline_access scope) so Postbote can sign in unattended',
        });
      }
      return token;
    }
    if (reply.kind === 'invalid') {
      throw new PostboteError('OAUTH_FAILED', `token endpoint: ${reply.why}`, { temporary: true, where });
    }
    switch (reply.error) {
      case 'authorization_pending':
        continue;
      case 'slow_down':
        interval += SLOW_DOWN_S;
        continue;
      case 'expired_token':
        throw expired(where, o.mailbox);
      case 'access_denied':
        throw new PostboteError('OAUTH_FAILED', 'the sign-in was declined', {
          temporary: false,
          reply: {
            code: 'oauth',
            text: reply.description ? `${reply.error}: ${reply.description}` : reply.error,
          },
          where,
          hint: `run \`postbote oauth login --mailbox ${o.mailbox}\` again and accept the requested access`,
        });
      default:
        throw oauthError(reply.error, reply.description, where, o.mailbox);
    }
  }
}

function expired(where: string, mailbox: string): PostboteError {
  return new PostboteError('OAUTH_FAILED', 'the code expired before the sign-in was completed', {
    temporary: false,
    where,
    hint: `run \`postbote oauth login --mailbox ${mailbox}\` again and enter the code within its time`,
  });
}
