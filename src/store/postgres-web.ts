// The web admin's shared state in a PostgreSQL state (migration 7), so every instance serves the same
// admin: sessions (a login on one instance is valid on all, a logout ends it on all), the login
// lockout (failures on every instance count towards one lock) and which instance holds each mailbox
// (the leases table). Same bounds as the in-memory versions in src/web/: sessions expire and are
// capped, lockout rows go stale and names that are not configured users are capped. A session's
// cookie is never stored or logged: the table keeps its SHA-256, which cannot be sent back as a cookie.
import type pg from 'pg';
import { MAX_SESSIONS, randomToken, type Session, type SessionStore, sha256 } from '../web/auth.js';
import {
  keyOf,
  LOCKOUT_MS,
  type LoginLockout,
  MAX_LOGIN_FAILURES,
  MAX_TRACKED_NAMES,
} from '../web/login-guard.js';

type Queryable = pg.Pool | pg.PoolClient;

function idHash(id: string): string {
  return sha256(id).toString('hex');
}

export class PgSessions implements SessionStore {
  constructor(
    private readonly db: Queryable,
    private readonly lifetimeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Expired sessions go at every login, then the oldest beyond MAX_SESSIONS: the table stays bounded. */
  async create(user: string): Promise<{ id: string; session: Session }> {
    const now = this.now();
    await this.db.query({
      name: 'pb_web_sessions_expire',
      text: 'DELETE FROM web_sessions WHERE expires_at <= $1',
      values: [now],
    });
    await this.db.query({
      name: 'pb_web_sessions_cap',
      text: `DELETE FROM web_sessions WHERE id_hash IN
               (SELECT id_hash FROM web_sessions ORDER BY created_at DESC, id_hash OFFSET $1)`,
      values: [MAX_SESSIONS - 1],
    });
    const id = randomToken();
    const session = { user, csrf: randomToken(), expiresAt: now + this.lifetimeMs };
    await this.db.query({
      name: 'pb_web_sessions_create',
      text: 'INSERT INTO web_sessions (id_hash, username, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
      values: [idHash(id), user, session.csrf, now, session.expiresAt],
    });
    return { id, session };
  }

  async get(id: string | undefined): Promise<Session | undefined> {
    if (!id) return undefined;
    const { rows } = await this.db.query({
      name: 'pb_web_sessions_get',
      text: 'SELECT username, csrf, expires_at FROM web_sessions WHERE id_hash = $1 AND expires_at > $2',
      values: [idHash(id), this.now()],
    });
    const row = rows[0] as { username: string; csrf: string; expires_at: number | string } | undefined;
    return row && { user: row.username, csrf: row.csrf, expiresAt: Number(row.expires_at) };
  }

  async delete(id: string | undefined): Promise<void> {
    if (!id) return;
    await this.db.query({
      name: 'pb_web_sessions_delete',
      text: 'DELETE FROM web_sessions WHERE id_hash = $1',
      values: [idHash(id)],
    });
  }
}

/**
 * LoginGuard's rules in one table. A failure is one statement (upsert), so two instances counting the
 * same name at once both count: a row locked by the other's insert waits for it, then adds to it.
 */
export class PgLoginLockout implements LoginLockout {
  private readonly known: Set<string>;
  constructor(
    private readonly db: Queryable,
    users: Iterable<string>,
    private readonly now: () => number = Date.now,
  ) {
    this.known = new Set([...users].map(keyOf));
  }

  async lockedFor(user: string): Promise<number> {
    const now = this.now();
    const { rows } = await this.db.query({
      name: 'pb_web_lockout_get',
      text: 'SELECT locked_until FROM web_login_failures WHERE key = $1 AND last_failure > $2',
      values: [keyOf(user), now - LOCKOUT_MS],
    });
    const row = rows[0] as { locked_until: number | string } | undefined;
    return row ? Math.max(0, Number(row.locked_until) - now) : 0;
  }

  async failed(user: string): Promise<void> {
    const key = keyOf(user);
    const known = this.known.has(key);
    const now = this.now();
    // A stale row (last failure LOCKOUT_MS ago or more) starts again from nothing, as in LoginGuard.
    await this.db.query({
      name: 'pb_web_lockout_fail',
      text: `INSERT INTO web_login_failures AS f (key, known, count, locked_until, last_failure)
               VALUES ($1, $2, CASE WHEN 1 >= $4::int THEN 0 ELSE 1 END,
                       CASE WHEN 1 >= $4::int THEN $3::bigint + $5::bigint ELSE 0 END, $3::bigint)
             ON CONFLICT (key) DO UPDATE SET
               count = CASE WHEN (CASE WHEN $3::bigint - f.last_failure >= $5::bigint THEN 0 ELSE f.count END) + 1 >= $4::int
                            THEN 0 ELSE (CASE WHEN $3::bigint - f.last_failure >= $5::bigint THEN 0 ELSE f.count END) + 1 END,
               locked_until = CASE
                 WHEN (CASE WHEN $3::bigint - f.last_failure >= $5::bigint THEN 0 ELSE f.count END) + 1 >= $4::int THEN $3::bigint + $5::bigint
                 WHEN $3::bigint - f.last_failure >= $5::bigint THEN 0 ELSE f.locked_until END,
               last_failure = $3::bigint`,
      values: [key, known, now, MAX_LOGIN_FAILURES, LOCKOUT_MS],
    });
    if (known) return; // configured users are bounded by the configuration and never pushed out
    await this.db.query({
      name: 'pb_web_lockout_prune',
      text: `DELETE FROM web_login_failures WHERE NOT known AND (last_failure <= $1 OR key IN
               (SELECT key FROM web_login_failures WHERE NOT known ORDER BY last_failure DESC, key OFFSET $2))`,
      values: [now - LOCKOUT_MS, MAX_TRACKED_NAMES],
    });
  }

  async succeeded(user: string): Promise<void> {
    await this.db.query({
      name: 'pb_web_lockout_clear',
      text: 'DELETE FROM web_login_failures WHERE key = $1',
      values: [keyOf(user)],
    });
  }

  /** Rows held (for tests: the table stays bounded). */
  async size(): Promise<number> {
    const { rows } = await this.db.query('SELECT count(*)::int AS n FROM web_login_failures');
    return Number(rows[0]?.n ?? 0);
  }
}

export interface Holder {
  /** The lease owner as the holding process names itself: `label#random`. */
  owner: string;
  /** Epoch ms (the database's clock) when the lease lapses unless renewed. */
  expiresAt: number;
}

/** Which instance holds each mailbox now (live leases only; a mailbox not in the map is free). */
export async function leaseHolders(db: Queryable): Promise<Map<string, Holder>> {
  const { rows } = await db.query({
    name: 'pb_web_holders',
    text: `SELECT mailbox, owner, (extract(epoch FROM expires_at) * 1000)::bigint AS expires_at
             FROM leases WHERE expires_at > now()`,
  });
  const out = new Map<string, Holder>();
  for (const r of rows as Array<{ mailbox: string; owner: string; expires_at: number | string }>)
    out.set(r.mailbox, { owner: r.owner, expiresAt: Number(r.expires_at) });
  return out;
}
