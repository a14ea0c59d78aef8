// Several instances on one PostgreSQL state: which of them works on which mailbox. A `run` instance
// registers with a heartbeat, spreads the mailboxes over the live instances by rendezvous hashing and
// takes a lease only on the mailboxes it ranks first for; it holds and renews them between passes
// and releases one after the pass in hand once another instance ranks first (a newcomer gets its share).
// A dead instance stops renewing: its leases lapse within the lease time and the others take them.
// `fetch` does not join: it takes any free mailbox for its pass and releases it afterwards.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isPostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import type { PostgresStore } from '../store/postgres.js';
import { PgInstances } from '../store/postgres-instances.js';
import { checkFence, type Lease, PgLeases } from '../store/postgres-leases.js';
import { PgConnection } from '../store/postgres-pool.js';
import type { LeaseAnswer, LeaseProvider } from './leases.js';
import { ownerOf } from './rendezvous.js';

/**
 * Renewals (and heartbeats) per lease time: three, so that two in a row may fail (a slow query, a
 * short network cut) before the lease lapses.
 */
const RENEWALS_PER_TTL = 3;
/**
 * Connections of the leases' own pool: renewals and heartbeats must not queue behind the passes'
 * queries in the store's pool (a busy instance would lose its own leases); two, so an acquire does not
 * wait for a renewal round either.
 */
const LEASE_POOL_SIZE = 2;
/**
 * A joining `run` waits this long (at most a heartbeat interval) after registering and looks again
 * before taking any mailbox: instances started together (a host reboot, `systemctl start
 * postbote@{mx1,mx2,mx3}`) then see each other, instead of the first taking every mailbox of a backlog
 * and keeping each for its whole pass (measured by the scale-out bench: 4,500/500 split of 5,000).
 */
const SETTLE_MS = 2_000;

export interface ClusterLeaseOptions {
  /** The state's URL: the leases get a small pool of their own. */
  url: string;
  store: PostgresStore;
  /** This instance's name (config `instance:` or host:spool-folder). */
  label: string;
  ttlMs: number;
  /** run: joins the instances and takes only the mailboxes it ranks first for; fetch: any free one. */
  joins: boolean;
  logger: Logger;
}

/** The lease owner of this process: its label plus a tenure of its own, new with every start. */
export function ownerName(label: string): string {
  return `${label}#${randomBytes(4).toString('hex')}`;
}

export class ClusterLeases implements LeaseProvider {
  readonly owner: string;
  private readonly db: PgConnection;
  private readonly leases: PgLeases;
  private readonly instances: PgInstances;
  /** Leases this instance holds, renewed on the timer. */
  private readonly held = new Map<string, Lease>();
  /** Mailboxes with a pass in hand: their lease is kept until passEnded(), even if another ranks first. */
  private readonly running = new Set<string>();
  /** The live instances as of the last heartbeat (this one included). */
  private live: string[] = [];
  /** Every mailbox the scheduler asked about: what a change of the live instances may hand to this one. */
  private readonly known = new Set<string>();
  private gained: ((mailbox: string) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private closed = false;

  private constructor(private readonly o: ClusterLeaseOptions) {
    this.owner = ownerName(o.label);
    this.db = new PgConnection(o.url, LEASE_POOL_SIZE);
    this.leases = new PgLeases(this.db.pool);
    this.instances = new PgInstances(this.db.pool);
  }

  /** Registers (run) and starts renewing. */
  static async start(o: ClusterLeaseOptions): Promise<ClusterLeases> {
    const c = new ClusterLeases(o);
    if (o.joins)
      await (async () => {
        await c.beat();
        await sleep(Math.min(SETTLE_MS, o.ttlMs / RENEWALS_PER_TTL));
        await c.beat();
      })().catch(async (err) => {
        await c.db.close();
        throw c.db.wrap(err);
      });
    c.timer = setInterval(() => {
      c.ticking ??= c.tick().finally(() => {
        c.ticking = undefined;
      });
    }, o.ttlMs / RENEWALS_PER_TTL);
    c.timer.unref();
    return c;
  }

  /** The live instances' ids as this one sees them. */
  get liveInstances(): readonly string[] {
    return this.live;
  }

  onGained(wake: (mailbox: string) => void): void {
    this.gained = wake;
  }

  private async beat(): Promise<void> {
    const live = await this.instances.beat(this.owner, this.o.label, this.o.ttlMs);
    if (!live.includes(this.owner)) live.push(this.owner);
    const before = this.live.join(' ');
    const had = new Set([...this.known].filter((m) => this.mine(m)));
    this.live = live.sort();
    if (before === '' || before === this.live.join(' ')) return;
    this.o.logger.info({ instances: this.live }, `instances sharing the mailboxes: ${this.live.join(', ')}`);
    // An instance died or left: its mailboxes are polled now, not an interval later (their leases
    // lapsed with its heartbeat; one that has not yet is taken at the next poll).
    for (const m of this.known) if (!had.has(m) && this.mine(m)) this.gained?.(m);
  }

  /** Whether this instance ranks first for the mailbox (always, for a fetch that does not join). */
  private mine(mailbox: string): boolean {
    return !this.o.joins || ownerOf(mailbox, this.live) === this.owner;
  }

  /** Heartbeat, then every held lease renewed, or released if it belongs elsewhere and no pass runs. */
  private async tick(): Promise<void> {
    try {
      if (this.o.joins) await this.beat();
      for (const [mailbox, lease] of [...this.held]) {
        if (this.closed) return;
        if (!this.running.has(mailbox) && !this.mine(mailbox)) {
          await this.release(mailbox, lease);
          continue;
        }
        const renewed = await this.leases.renew(mailbox, this.owner, lease.token, this.o.ttlMs);
        if (renewed) this.held.set(mailbox, renewed);
        else if (this.held.get(mailbox) === lease) {
          this.held.delete(mailbox);
          this.o.logger.warn(
            { mailbox, fence: lease.token },
            `mailbox ${mailbox}: lease lost (lapsed or taken over); this instance writes nothing more for it`,
          );
        }
      }
    } catch (err) {
      this.o.logger.warn(
        { err: isPostboteError(err) ? err.toJSON() : String(err) },
        'renewing the mailbox leases failed; trying again',
      );
    }
  }

  async mayRun(mailbox: string, explicit: boolean): Promise<LeaseAnswer> {
    if (this.closed) return { heldBy: 'nobody (this instance is stopping)' };
    this.known.add(mailbox);
    if (!explicit && !this.mine(mailbox))
      return { heldBy: ownerOf(mailbox, this.live) ?? 'another instance' };
    const lease = await this.leases.acquire(mailbox, this.owner, this.o.ttlMs);
    if (!lease) return { heldBy: (await this.leases.holder(mailbox)) ?? 'another instance' };
    this.held.set(mailbox, lease);
    this.running.add(mailbox);
    const { store } = this.o;
    return {
      lease: {
        token: lease.token,
        store: store.fenced(mailbox, lease.token),
        assert: () => store.tx((c) => checkFence(c, mailbox, lease.token)),
      },
    };
  }

  async passEnded(mailbox: string): Promise<void> {
    this.running.delete(mailbox);
    const lease = this.held.get(mailbox);
    if (lease && (this.closed || !this.mine(mailbox))) await this.release(mailbox, lease);
  }

  private async release(mailbox: string, lease: Lease): Promise<void> {
    this.held.delete(mailbox);
    await this.leases
      .release(mailbox, this.owner, lease.token)
      .catch((err) =>
        this.o.logger.warn(
          { mailbox, err: isPostboteError(err) ? err.toJSON() : String(err) },
          `mailbox ${mailbox}: releasing its lease failed; it lapses by itself`,
        ),
      );
  }

  /** Releases every lease and leaves the instances: the others take over at their next poll. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.ticking;
    for (const [mailbox, lease] of [...this.held]) await this.release(mailbox, lease);
    if (this.o.joins) await this.instances.leave(this.owner).catch(() => undefined);
    await this.db.close();
  }
}
