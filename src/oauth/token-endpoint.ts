// The OAuth2 token endpoint client (RFC 6749 section 5, RFC 8628 section 3.4): a form POST, a bounded
// JSON reply, and OAuth's error codes mapped to the one error family.
import { PostboteError } from '../errors.js';

// A token reply is a few KB (Entra ID's JWT access tokens ~2-4 KB); 64 KiB bounds a hostile or broken
// endpoint without ever cutting a real reply.
export const MAX_REPLY_BYTES = 64 * 1024;
// The provider answers within a second or two; 30 s is a provider that is down, not a slow one.
export const REQUEST_TIMEOUT_MS = 30_000;

/** A successful token reply, the fields Postbote uses. */
export interface TokenReply {
  accessToken: string;
  /** Seconds from now; absent when the provider does not say (then treated as one hour, the usual value). */
  expiresIn?: number;
  refreshToken?: string;
  scope?: string;
}

/** What a parsed reply says: tokens, an OAuth error code, or something that is not OAuth at all. */
export type EndpointReply =
  | { kind: 'ok'; body: Record<string, unknown> }
  | { kind: 'error'; error: string; description?: string }
  | { kind: 'invalid'; why: string };

/** Pure: the HTTP status and body text of an endpoint's answer, classified. */
export function parseEndpointReply(status: number, text: string): EndpointReply {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { kind: 'invalid', why: `HTTP ${status}, not JSON: ${text.slice(0, 120)}` };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { kind: 'invalid', why: `HTTP ${status}, not a JSON object` };
  }
  const b = body as Record<string, unknown>;
  if (typeof b.error === 'string') {
    return {
      kind: 'error',
      error: b.error,
      ...(typeof b.error_description === 'string' ? { description: b.error_description } : {}),
    };
  }
  if (status < 200 || status > 299) return { kind: 'invalid', why: `HTTP ${status} without an OAuth error` };
  return { kind: 'ok', body: b };
}

/** Pure: the token fields of a successful reply; a reply without an access token is not one. */
export function tokenFields(body: Record<string, unknown>): TokenReply | undefined {
  if (typeof body.access_token !== 'string' || body.access_token === '') return undefined;
  const expires = Number(body.expires_in);
  return {
    accessToken: body.access_token,
    ...(Number.isFinite(expires) && expires > 0 ? { expiresIn: expires } : {}),
    ...(typeof body.refresh_token === 'string' && body.refresh_token !== ''
      ? { refreshToken: body.refresh_token }
      : {}),
    ...(typeof body.scope === 'string' ? { scope: body.scope } : {}),
  };
}

/**
 * An OAuth error code as a PostboteError. `invalid_grant` on a refresh is the provider saying the
 * consent is gone (revoked, expired, password reset, admin policy): only a new sign-in helps.
 */
export function oauthError(
  error: string,
  description: string | undefined,
  where: string,
  mailbox: string,
): PostboteError {
  const said = description ? `${error}: ${description}` : error;
  const login = `postbote oauth login --mailbox ${mailbox}`;
  const reply = { code: 'oauth', text: said };
  switch (error) {
    case 'invalid_grant':
      return new PostboteError('OAUTH_REVOKED', 'the provider no longer accepts the stored sign-in', {
        temporary: false,
        reply,
        where,
        hint: `the consent was revoked or has expired: run \`${login}\` again`,
      });
    case 'invalid_client':
    case 'unauthorized_client':
      return new PostboteError('OAUTH_FAILED', 'the provider refused the app registration', {
        temporary: false,
        reply,
        where,
        hint: 'check oauth2.clientId (and clientSecret) against the app registered at the provider, and that it allows public client / device-code flows',
      });
    case 'invalid_scope':
      return new PostboteError('OAUTH_FAILED', 'the provider refused the requested scopes', {
        temporary: false,
        reply,
        where,
        hint: `grant the app the mail API permission (IMAP/POP access) at the provider, then run \`${login}\``,
      });
    case 'temporarily_unavailable':
    case 'server_error':
      return new PostboteError('OAUTH_FAILED', 'the token endpoint failed for now', {
        temporary: true,
        reply,
        where,
      });
    default:
      return new PostboteError('OAUTH_FAILED', `the token endpoint refused: ${said}`, {
        temporary: false,
        reply,
        where,
      });
  }
}

/** POSTs a form to an endpoint and returns its classified reply; network failures are temporary. */
export async function postForm(
  url: string,
  form: Record<string, string>,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<EndpointReply> {
  const where = `oauth ${new URL(url).host}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
      redirect: 'error',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new PostboteError('OAUTH_FAILED', `token endpoint ${url} not reachable`, {
      temporary: true,
      where,
      cause: err,
      hint: 'check the network and the endpoint URL; Postbote tries again on the next poll',
    });
  }
  const text = await boundedText(response, where).catch((err: unknown) => {
    if (err instanceof PostboteError) throw err;
    // The deadline also covers the body (the signal stays on it): a peer that answers its headers and
    // then trickles, or drops the connection mid-reply, is the same passing fault as no answer at all.
    throw new PostboteError('OAUTH_FAILED', `token endpoint ${url} broke off its reply`, {
      temporary: true,
      where,
      cause: err,
      hint: 'the endpoint or a proxy in between failed; Postbote tries again on the next poll',
    });
  });
  return parseEndpointReply(response.status, text);
}

async function boundedText(response: Response, where: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (response.body) {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > MAX_REPLY_BYTES) {
        throw new PostboteError('OAUTH_FAILED', `token endpoint reply larger than ${MAX_REPLY_BYTES} bytes`, {
          temporary: true,
          where,
        });
      }
      chunks.push(Buffer.from(chunk));
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}
