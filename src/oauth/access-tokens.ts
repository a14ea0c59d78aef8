// Access tokens for a mailbox: kept in memory until shortly before they expire, then refreshed with the
// stored refresh token; a rotated refresh token (Entra ID sends a new one each time) is stored back.
import { PostboteError } from '../errors.js';
import type { OAuthEndpoints } from './providers.js';
import { oauthError, postForm, tokenFields } from './token-endpoint.js';
import type { TokenStore } from './token-store.js';

// Refresh this long before expiry: a pass started with a token about to lapse may need a second
// login (a session reopened after POP3_DESYNC) minutes later.
export const REFRESH_MARGIN_MS = 5 * 60_000;
// Providers issue access tokens for about an hour; a reply without expires_in is taken as that.
const DEFAULT_LIFETIME_S = 3600;

export interface AccessTokenSource {
  mailbox: string;
  endpoints: OAuthEndpoints;
  clientId: string;
  clientSecret?: string;
  store: TokenStore;
  now?: () => number;
}

interface Cached {
  token: string;
  expiresAt: number;
}

export class AccessTokens {
  private cached?: Cached;
  /** Concurrent callers (check and a pass) share one refresh rather than rotating the token twice. */
  private pending?: Promise<string>;

  constructor(private readonly s: AccessTokenSource) {}

  async get(): Promise<string> {
    const now = (this.s.now ?? Date.now)();
    if (this.cached && this.cached.expiresAt - REFRESH_MARGIN_MS > now) return this.cached.token;
    this.pending ??= this.refresh().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Forgets the cached token (the server refused it: revoked between refreshes). */
  invalidate(): void {
    this.cached = undefined;
  }

  private async refresh(): Promise<string> {
    const stored = this.s.store.read();
    const where = `oauth ${new URL(this.s.endpoints.tokenEndpoint).host}`;
    const reply = await postForm(this.s.endpoints.tokenEndpoint, {
      grant_type: 'refresh_token',
      refresh_token: stored.refreshToken,
      client_id: this.s.clientId,
      // Google wants the scope absent on refresh, Entra ID accepts either: the grant keeps its scopes.
      ...(this.s.clientSecret ? { client_secret: this.s.clientSecret } : {}),
    });
    if (reply.kind === 'error') throw oauthError(reply.error, reply.description, where, this.s.mailbox);
    const token = reply.kind === 'ok' ? tokenFields(reply.body) : undefined;
    if (!token) {
      throw new PostboteError(
        'OAUTH_FAILED',
        `token endpoint gave no access token (${reply.kind === 'invalid' ? reply.why : 'access_token missing'})`,
        { temporary: true, where },
      );
    }
    const now = (this.s.now ?? Date.now)();
    if (token.refreshToken && token.refreshToken !== stored.refreshToken) {
      this.s.store.write({
        refreshToken: token.refreshToken,
        obtainedAt: now,
        ...((token.scope ?? stored.scope) ? { scope: token.scope ?? stored.scope } : {}),
      });
    }
    this.cached = {
      token: token.accessToken,
      expiresAt: now + (token.expiresIn ?? DEFAULT_LIFETIME_S) * 1000,
    };
    return token.accessToken;
  }
}
