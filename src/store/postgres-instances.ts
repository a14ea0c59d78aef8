// The instances sharing one PostgreSQL state: each process registers a row under its own id (the owner
// name it writes into leases), renews its heartbeat by the database's clock, and reads which instances
// are live (heartbeat within the lease time) to spread the mailboxes over them. A process that dies
// stops beating; a clean stop removes its row at once.
import { hostname } from 'node:os';
import type pg from 'pg';

/**
 * A dead instance's row stays this long after its last heartbeat, so the web page can still name the
 * instance that held a mailbox last; then it goes (any number works: nothing depends on old rows).
 */
const FORGET_AFTER = '1 day';

export interface InstanceRow {
  id: string;
  label: string;
  host: string;
  pid: number;
  /** Epoch ms, the database's clock. */
  startedAt: number;
  heartbeatAt: number;
}

export class PgInstances {
  constructor(private readonly db: pg.Pool) {}

  /**
   * Registers this process (or renews its heartbeat, re-registering it if its row was removed while it
   * was paused) and returns the ids of the live instances, this one included, sorted.
   */
  async beat(id: string, label: string, ttlMs: number): Promise<string[]> {
    await this.db.query({
      name: 'pb_instance_beat',
      text: `INSERT INTO instances (id, label, host, pid, started_at, heartbeat_at)
               VALUES ($1, $2, $3, $4, now(), now())
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = now()`,
      values: [id, label, hostname(), process.pid],
    });
    await this.db.query({
      name: 'pb_instance_forget',
      text: `DELETE FROM instances WHERE heartbeat_at < now() - interval '${FORGET_AFTER}'`,
    });
    const { rows } = await this.db.query({
      name: 'pb_instance_live',
      text: `SELECT id FROM instances WHERE heartbeat_at > now() - $1 * interval '1 millisecond' ORDER BY id`,
      values: [ttlMs],
    });
    return (rows as Array<{ id: string }>).map((r) => r.id);
  }

  /** A clean stop: the others need not wait out the heartbeat to count this instance gone. */
  async leave(id: string): Promise<void> {
    await this.db.query({
      name: 'pb_instance_leave',
      text: 'DELETE FROM instances WHERE id = $1',
      values: [id],
    });
  }

  async list(): Promise<InstanceRow[]> {
    const { rows } = await this.db.query(
      `SELECT id, label, host, pid, (extract(epoch FROM started_at) * 1000)::bigint AS started_at,
              (extract(epoch FROM heartbeat_at) * 1000)::bigint AS heartbeat_at
         FROM instances ORDER BY id`,
    );
    return rows.map((r) => ({
      id: r.id,
      label: r.label,
      host: r.host,
      pid: Number(r.pid),
      startedAt: Number(r.started_at),
      heartbeatAt: Number(r.heartbeat_at),
    }));
  }
}
