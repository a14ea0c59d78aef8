// A mailbox's `oauth2:` block (with `auth: oauth2`): the provider preset or endpoints, the app's client
// id, and where the key that encrypts the stored refresh token comes from.
import { isIP } from 'node:net';
import { z } from 'zod';
import { showValue } from './config-error.js';
import { nonEmptyList, oneOf, strict, text } from './fields.js';

export const OAUTH_PROVIDERS = ['microsoft', 'google', 'generic'] as const;

/**
 * An endpoint URL: https, or http only on loopback (a local test or a proxy on the same machine), since
 * the refresh token and client secret travel in the request body.
 */
const endpoint = () =>
  z.unknown().transform((value, ctx): string => {
    if (typeof value === 'string') {
      try {
        const url = new URL(value);
        const host = url.hostname.replace(/^\[|\]$/g, '');
        const loopback = host === 'localhost' || (isIP(host) !== 0 && /^(127\.|::1$)/.test(host));
        if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return value;
      } catch {
        // falls through to the issue below
      }
    }
    ctx.addIssue({
      code: 'custom',
      message: `expected an https:// URL, got ${showValue(value)}`,
      params: {
        hint: 'the token endpoint receives secrets: http:// is accepted only for 127.0.0.1 / localhost',
      },
      input: value,
    });
    return z.NEVER;
  });

export const oauth2Schema = strict({
  provider: oneOf(OAUTH_PROVIDERS),
  /** microsoft: the Entra ID tenant (GUID or domain); default organizations (any work account). */
  tenant: text('a tenant id or domain').optional(),
  clientId: text('the application (client) id'),
  /** Only for apps registered as confidential clients (Google's "TV and limited input" clients have one). */
  clientSecret: text().optional(),
  deviceEndpoint: endpoint().optional(),
  tokenEndpoint: endpoint().optional(),
  scopes: nonEmptyList(text('a scope')).optional(),
  /** The AES-256 key for the stored refresh token: a file (0600) or an environment variable's name. */
  keyFile: text('a file path').optional(),
  keyEnv: text('an environment variable name').optional(),
}).superRefine((value, ctx) => {
  if ((value.keyFile === undefined) === (value.keyEnv === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: value.keyFile === undefined ? [] : ['keyEnv'],
      message:
        value.keyFile === undefined ? 'keyFile or keyEnv is required' : 'keyFile and keyEnv are both set',
      params: {
        missing: value.keyFile === undefined,
        hint: 'the refresh token is stored encrypted: create a key with `openssl rand -base64 32 > FILE` and name it in keyFile (or keyEnv: VAR)',
      },
    });
  }
  if (value.provider === 'generic') {
    for (const key of ['deviceEndpoint', 'tokenEndpoint', 'scopes'] as const) {
      if (value[key] !== undefined) continue;
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `provider generic needs ${key}`,
        params: { missing: true, hint: 'or use provider: microsoft / google for their presets' },
      });
    }
  }
  if (value.tenant !== undefined && value.provider !== 'microsoft') {
    ctx.addIssue({
      code: 'custom',
      path: ['tenant'],
      message: 'tenant is a Microsoft setting',
      params: { hint: 'remove it, or set provider: microsoft' },
    });
  }
});

/** The mailbox-level rules: oauth2 goes with `auth: oauth2`, which needs no password. */
export function refineMailboxOAuth(
  mailbox: { auth: string; oauth2?: unknown; password?: string; passwordFile?: string },
  ctx: z.core.$RefinementCtx,
): void {
  if (mailbox.auth === 'oauth2' && mailbox.oauth2 === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['oauth2'],
      message: 'auth: oauth2 needs an oauth2: block',
      params: { missing: true, hint: 'oauth2: { provider: microsoft, tenant: …, clientId: …, keyFile: … }' },
    });
  }
  if (mailbox.auth !== 'oauth2' && mailbox.oauth2 !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['auth'],
      message: 'an oauth2: block needs auth: oauth2',
      params: { hint: 'set auth: oauth2, or remove the oauth2: block' },
    });
  }
  if (mailbox.auth === 'oauth2' && (mailbox.password !== undefined || mailbox.passwordFile !== undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: [mailbox.password !== undefined ? 'password' : 'passwordFile'],
      message: 'auth: oauth2 signs in with a token, not a password',
      params: { hint: 'remove the password; run `postbote oauth login --mailbox NAME` instead' },
    });
  }
}
