// Leases with fencing tokens (taken by the scheduler through src/scheduler/cluster-leases.ts): an
// instance holds a mailbox for a time to live, renews it while it works, and carries the lease's token
// into every transaction that changes that mailbox's records. The token grows with each new tenure, so
// an instance that paused past its lease (GC, a stalled VM) and wakes up still believing it holds the
// mailbox is refused by checkFence() instead of overwriting the new owner's work.
// Expiry is judged by the database's clock alone: instances' clocks may disagree.
import type pg from 'pg';
import { PostboteError } from '../errors.js';

export interface Lease {
  mailbox: string;
  owner: string;
  /** Fencing token: larger than every token of an earlier tenure of this mailbox. */
  token: number;
  /** When it lapses unless renewed (epoch ms, the database's clock). */
  expiresAt: number;
}

/** A fenced write whose lease was taken over, released or lapsed: its transaction must roll back. */
export class LeaseLostError extends PostboteError {
  constructor(mailbox: string, token: number, why: string) {
    super('STORE', `the lease on mailbox ${mailbox} (token ${token}) is lost: ${why}`, {
      // The work goes back to whoever holds the lease now; this instance may take it again later.
      temporary: true,
      hint: 'another instance took over the mailbox after this one missed renewing its lease; nothing was written',
    });
  }
}

type Queryable = pg.Pool | pg.PoolClient | pg.Client;

const RETURNING = `RETURNING mailbox, owner, token, (extract(epoch FROM expires_at) * 1000)::bigint AS expires_at`;

function lease(row: {
  mailbox: string;
  owner: string;
  token: number | string;
  expires_at: number | string;
}): Lease {
  return {
    mailbox: row.mailbox,
    owner: row.owner,
    token: Number(row.token),
    expiresAt: Number(row.expires_at),
  };
}

export class PgLeases {
  constructor(private readonly db: Queryable) {}

  /**
   * Takes the mailbox for `ttlMs` if it is free, lapsed or already this owner's (then it is renewed,
   * same token). A new tenure gets the previous token + 1. Undefined while another owner holds it.
   * One statement: two instances racing for a row serialise on it, and only one WHERE passes.
   */
  async acquire(mailbox: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    const { rows } = await this.db.query({
      name: 'pb_lease_acquire',
      text: `INSERT INTO leases (mailbox, owner, token, expires_at)
               VALUES ($1, $2, 1, now() + $3 * interval '1 millisecond')
             ON CONFLICT (mailbox) DO UPDATE SET
               owner = excluded.owner,
               token = CASE WHEN leases.owner = excluded.owner AND leases.expires_at > now()
                            THEN leases.token ELSE leases.token + 1 END,
               expires_at = excluded.expires_at
             WHERE leases.owner = excluded.owner OR leases.expires_at <= now()
             ${RETURNING}`,
      values: [mailbox, owner, ttlMs],
    });
    return rows[0] && lease(rows[0]);
  }

  /** Extends this tenure by `ttlMs` from now; undefined if it lapsed or another owner has it. */
  async renew(mailbox: string, owner: string, token: number, ttlMs: number): Promise<Lease | undefined> {
    const { rows } = await this.db.query({
      name: 'pb_lease_renew',
      text: `UPDATE leases SET expires_at = now() + $4 * interval '1 millisecond'
             WHERE mailbox = $1 AND owner = $2 AND token = $3 AND expires_at > now()
             ${RETURNING}`,
      values: [mailbox, owner, token, ttlMs],
    });
    return rows[0] && lease(rows[0]);
  }

  /** Who holds the mailbox now, if anyone (a lapsed lease holds nothing). */
  async holder(mailbox: string): Promise<string | undefined> {
    const { rows } = await this.db.query({
      name: 'pb_lease_holder',
      text: 'SELECT owner FROM leases WHERE mailbox = $1 AND expires_at > now()',
      values: [mailbox],
    });
    return (rows[0] as { owner: string } | undefined)?.owner;
  }

  /**
   * Ends this tenure now so another instance need not wait for the lapse. The row stays (expired):
   * its token is what the next owner's grows from.
   */
  async release(mailbox: string, owner: string, token: number): Promise<boolean> {
    const { rowCount } = await this.db.query({
      name: 'pb_lease_release',
      text: 'UPDATE leases SET expires_at = now() WHERE mailbox = $1 AND owner = $2 AND token = $3 AND expires_at > now()',
      values: [mailbox, owner, token],
    });
    return (rowCount ?? 0) > 0;
  }
}

/**
 * Inside a transaction that changes a mailbox's records: passes only while `token` is the live lease's.
 * FOR SHARE holds the lease row until this transaction ends, so a takeover (which updates the row)
 * waits for our commit: every fenced write lands before the next tenure begins, never after.
 */
export async function checkFence(
  client: pg.PoolClient | pg.Client,
  mailbox: string,
  token: number,
): Promise<void> {
  const { rows } = await client.query({
    name: 'pb_lease_fence',
    text: 'SELECT token, expires_at > now() AS live FROM leases WHERE mailbox = $1 FOR SHARE',
    values: [mailbox],
  });
  const row = rows[0] as { token: number | string; live: boolean } | undefined;
  if (!row) throw new LeaseLostError(mailbox, token, 'no lease exists');
  if (Number(row.token) !== token)
    throw new LeaseLostError(mailbox, token, `now held under token ${row.token}`);
  if (!row.live) throw new LeaseLostError(mailbox, token, 'it lapsed');
}
