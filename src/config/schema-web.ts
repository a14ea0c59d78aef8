// The `web:` block: the admin page's listener, optional TLS, its users (argon2 hashes, never plain
// passwords) and API tokens (SHA-256 of a random token), session lifetime and who may read /metrics.
import { z } from 'zod';
import { bool, duration, hostPort, list, oneOf, strict, text } from './fields.js';
import { name } from './schema-sections.js';

/** 8 hours: a working day without logging in again, short enough that a forgotten tab expires. */
const DEFAULT_SESSION_LIFETIME_MS = 8 * 3_600_000;

const passwordHash = () =>
  z.unknown().transform((value, ctx): string => {
    if (typeof value === 'string' && /^\$argon2(id|i|d)\$/.test(value.trim())) return value.trim();
    ctx.addIssue({
      code: 'custom',
      // The value is not echoed: whoever writes a plain password here wrote a secret.
      message: value === undefined ? 'required' : 'expected an argon2 hash ($argon2id$…), got something else',
      params: {
        missing: value === undefined,
        hint: 'never write the password itself: run `postbote hash-password` and paste its output',
      },
      input: value,
    });
    return z.NEVER;
  });

const tokenHash = () =>
  z.unknown().transform((value, ctx): string => {
    const hex =
      typeof value === 'string'
        ? value
            .trim()
            .replace(/^sha256:/i, '')
            .toLowerCase()
        : '';
    if (/^[0-9a-f]{64}$/.test(hex)) return hex;
    ctx.addIssue({
      code: 'custom',
      message:
        value === undefined
          ? 'required'
          : 'expected the SHA-256 of a token (64 hex digits), got something else (not shown: it may be the token itself)',
      params: {
        missing: value === undefined,
        hint: 'make a token with `openssl rand -hex 32` and write the output of `printf %s TOKEN | sha256sum`',
      },
      input: value,
    });
    return z.NEVER;
  });

export const webSchema = strict({
  listen: hostPort().default('127.0.0.1:8025'),
  tls: strict({ cert: text('a file path'), key: text('a file path') }).optional(),
  users: list(strict({ user: name(), passwordHash: passwordHash() })).default([]),
  apiTokens: list(strict({ name: name(), tokenHash: tokenHash() })).default([]),
  sessionLifetime: duration().default(DEFAULT_SESSION_LIFETIME_MS),
  /** /metrics without a token, for a Prometheus on the same host; off by default. */
  publicMetrics: bool().default(false),
  /** The admin page's language for everyone; unset, each browser's Accept-Language picks (else English). */
  language: oneOf(['en', 'de']).optional(),
});
