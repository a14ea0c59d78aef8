// Who is asking: session cookies (argon2-checked logins, with a CSRF token per session), API tokens
// (Bearer, compared by SHA-256); the lockout that makes guessing passwords slow is login-guard.ts.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { verifyPassword } from '../util/password.js';

export const SESSION_COOKIE = 'postbote_session';
export const LOGIN_COOKIE = 'postbote_login';
/** Bounds memory (or the shared table) if someone creates sessions in a loop: the oldest go first. */
export const MAX_SESSIONS = 1000;

export interface Session {
  user: string;
  csrf: string;
  expiresAt: number;
}

export type Principal = { kind: 'session'; user: string; session: Session } | { kind: 'token'; name: string };

export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Constant-time equality for secrets of any length (both sides hashed first). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** A value now (in memory) or later (PostgreSQL): callers await either. */
export type Awaitable<T> = T | Promise<T>;

/**
 * Where logins live: this process's memory (a folder state: one instance), or the PostgreSQL state
 * that several instances share (src/store/postgres-web.ts), so a login on one is valid on all.
 */
export interface SessionStore {
  create(user: string): Awaitable<{ id: string; session: Session }>;
  get(id: string | undefined): Awaitable<Session | undefined>;
  delete(id: string | undefined): Awaitable<void>;
}

export class Sessions implements SessionStore {
  private readonly sessions = new Map<string, Session>();
  constructor(
    private readonly lifetimeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  create(user: string): { id: string; session: Session } {
    if (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
    const id = randomToken();
    const session = { user, csrf: randomToken(), expiresAt: this.now() + this.lifetimeMs };
    this.sessions.set(id, session);
    return { id, session };
  }

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (s && s.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  delete(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }
}

export interface WebUser {
  user: string;
  passwordHash: string;
}

/** A fixed argon2 hash checked for unknown users, so the reply time does not tell which names exist. */
const DUMMY_HASH =
  '$argon2id$v=19$m=19456,t=2,p=1$VRdjRuRuJl6nLKVMpq6NFQ$VBJVmzlmp/+3HANVqxLQWIneLdbbBhykZBMV8uCt8U0';

export async function checkLogin(users: WebUser[], user: string, password: string): Promise<boolean> {
  const found = users.find((u) => u.user === user);
  const ok = await verifyPassword(found?.passwordHash ?? DUMMY_HASH, password);
  return ok && found !== undefined;
}

/** The configured token whose hash matches, if any. `tokenHash` is lower-case hex SHA-256. */
export function checkToken(
  tokens: Array<{ name: string; tokenHash: string }>,
  token: string,
): string | undefined {
  const digest = sha256(token);
  let match: string | undefined;
  for (const t of tokens) {
    const expected = Buffer.from(t.tokenHash, 'hex');
    if (expected.length === digest.length && timingSafeEqual(expected, digest)) match = t.name;
  }
  return match;
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

export function cookie(
  name: string,
  value: string,
  o: { secure: boolean; maxAgeS?: number; path?: string },
): string {
  const parts = [`${name}=${value}`, `Path=${o.path ?? '/'}`, 'HttpOnly', 'SameSite=Strict'];
  if (o.maxAgeS !== undefined) parts.push(`Max-Age=${o.maxAgeS}`);
  if (o.secure) parts.push('Secure');
  return parts.join('; ');
}
