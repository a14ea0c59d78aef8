// A small OAuth2 provider on loopback for the tests: the device-code and token endpoints (RFC 8628,
// RFC 6749 refresh with rotation) and a token-introspection endpoint (RFC 7662) for Dovecot's oauth2
// passdb. Scriptable: each device code answers a list of poll outcomes; a user's consent can be revoked.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';

export type PollOutcome = 'authorization_pending' | 'slow_down' | 'expired_token' | 'access_denied' | 'ok';

export interface FakeProviderOptions {
  /** The user every device sign-in is for. */
  user: string;
  /** Poll answers for the next device code, in order; 'ok' issues tokens. Default ['ok']. */
  polls?: PollOutcome[];
  /** Access token lifetime in seconds (expires_in). */
  lifetime?: number;
  /** Length of issued access tokens: real Entra ID tokens are 1.5-4 KB, beyond POP3's 255-octet limit. */
  accessTokenLength?: number;
  /** Send a new refresh token on every refresh (Entra ID does). */
  rotate?: boolean;
}

export interface FakeProvider {
  url: string;
  deviceEndpoint: string;
  tokenEndpoint: string;
  introspectionUrl: string;
  /** Every request's path and form, in order. */
  requests: Array<{ path: string; form: Record<string, string> }>;
  /** Makes every refresh token and access token of the user invalid (invalid_grant, inactive). */
  revoke(): void;
  /** Issues a refresh token directly, as a completed sign-in would. */
  issueRefreshToken(): string;
  setPolls(polls: PollOutcome[]): void;
  close(): Promise<void>;
}

export async function startFakeProvider(o: FakeProviderOptions): Promise<FakeProvider> {
  let polls = [...(o.polls ?? ['ok'])];
  const refreshTokens = new Set<string>();
  const accessTokens = new Map<string, number>();
  const devices = new Map<string, PollOutcome[]>();
  const requests: FakeProvider['requests'] = [];
  const token = (prefix: string, length = 32) =>
    `${prefix}${randomBytes(Math.ceil(length * 0.75)).toString('base64url')}`.slice(
      0,
      Math.max(length, prefix.length + 8),
    );

  const issue = (withRefresh: boolean) => {
    const access = token('at-', o.accessTokenLength ?? 40);
    accessTokens.set(access, Date.now() + (o.lifetime ?? 3600) * 1000);
    const body: Record<string, unknown> = {
      access_token: access,
      token_type: 'Bearer',
      expires_in: o.lifetime ?? 3600,
    };
    if (withRefresh) {
      const refresh = token('rt-');
      refreshTokens.add(refresh);
      body.refresh_token = refresh;
    }
    return body;
  };

  const handle = (path: string, form: Record<string, string>): [number, Record<string, unknown>] => {
    if (path === '/device') {
      const code = token('dc-');
      devices.set(code, polls);
      polls = ['ok'];
      return [
        200,
        {
          device_code: code,
          user_code: 'WDJB-MJHT',
          verification_uri: 'https://example.test/device',
          expires_in: 900,
          interval: 1,
        },
      ];
    }
    if (path === '/token' && form.grant_type === 'urn:ietf:params:oauth:grant-type:device_code') {
      const script = devices.get(form.device_code ?? '');
      if (!script) return [400, { error: 'invalid_grant', error_description: 'unknown device code' }];
      const next = script.shift() ?? 'ok';
      if (next !== 'ok') return [400, { error: next }];
      devices.delete(form.device_code ?? '');
      return [200, issue(true)];
    }
    if (path === '/token' && form.grant_type === 'refresh_token') {
      const rt = form.refresh_token ?? '';
      if (!refreshTokens.has(rt))
        return [400, { error: 'invalid_grant', error_description: 'AADSTS70000: the grant was revoked' }];
      if (o.rotate) refreshTokens.delete(rt);
      return [200, issue(o.rotate === true)];
    }
    if (path === '/introspect') {
      const expires = accessTokens.get(form.token ?? '');
      const active = expires !== undefined && expires > Date.now();
      return [200, active ? { active: true, username: o.user } : { active: false }];
    }
    return [404, { error: 'not_found' }];
  };

  const server: Server = createServer(async (req, res) => {
    const form = Object.fromEntries(new URLSearchParams(await readBody(req)));
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests.push({ path, form });
    const [status, body] = handle(path, form);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    deviceEndpoint: `${url}/device`,
    tokenEndpoint: `${url}/token`,
    introspectionUrl: `${url}/introspect`,
    requests,
    revoke() {
      refreshTokens.clear();
      accessTokens.clear();
    },
    issueRefreshToken() {
      const refresh = token('rt-');
      refreshTokens.add(refresh);
      return refresh;
    },
    setPolls(next) {
      polls = [...next];
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
