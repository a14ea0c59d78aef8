// The PostgreSQL store's connection: a pg pool, named (server-side prepared) statements, one
// transaction helper, and the translation of driver errors into STORE errors that never show the
// password (the URL is masked, its password scrubbed from any text that quotes it).
import { createHash } from 'node:crypto';
import pg from 'pg';
import { PostboteError } from '../errors.js';
import { checkUrl, maskUrl, scrub } from './postgres-url.js';

// A mailbox pass uses one connection at a time; the web page and parallel mailboxes a few more.
// Small, because every instance of a scaled-out deployment opens its own pool against one server.
const POOL_SIZE = 8;
// A database that does not answer within this is reported, not waited for forever.
const CONNECT_TIMEOUT_MS = 10_000;

const INT8 = 20;
const NUMERIC = 1700;
// Ids, times and sizes are BIGINT: epoch milliseconds and sizes fit a JS number exactly (< 2^53).
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8 || oid === NUMERIC
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** What a query needs: the pool or one client inside a transaction. */
export type Queryable = pg.Pool | pg.PoolClient;

export class PgConnection {
  readonly pool: pg.Pool;
  private readonly names = new Map<string, string>();

  constructor(
    private readonly url: string,
    poolSize = POOL_SIZE,
    /** Per-session settings sent at connect, e.g. a statement_timeout (ms). */
    session: { statement_timeout?: number } = {},
  ) {
    checkUrl(url);
    this.pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      types,
      application_name: 'postbote',
      ...session,
    });
    // An idle client that loses its connection must not crash the process; the next query reports it.
    this.pool.on('error', () => undefined);
  }

  /** The URL with its password masked, for messages and logs. */
  get where(): string {
    return maskUrl(this.url);
  }

  /** A driver or server error as a STORE error whose text never shows the password. */
  wrap(err: unknown): PostboteError {
    if (err instanceof PostboteError) return err;
    const e = err as Error & { code?: string };
    const text = scrub(e.message ?? String(err), this.url);
    // Connection-level failures pass (the server restarts, the network comes back): socket errors
    // (ECONNREFUSED…, no SQLSTATE), and SQLSTATE classes 08 connection, 53 resources, 57P shutdown,
    // 40 rollback (serialization, deadlock). Others (28 authentication, 42 syntax…) need a person.
    const sqlState = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
    const temporary = sqlState === undefined || /^(08|53|57P|40)/.test(sqlState);
    return new PostboteError('STORE', `PostgreSQL ${this.where}: ${text}`, {
      temporary,
      where: `postgres ${this.where}`,
      hint: temporary
        ? 'check that the database server is up and reachable'
        : 'check the database, its user and permissions',
    });
  }

  /** A named (server-side prepared) statement: parsed once per connection, then only executed. */
  async q<R extends pg.QueryResultRow = pg.QueryResultRow>(
    db: Queryable,
    text: string,
    values: unknown[] = [],
  ): Promise<R[]> {
    let name = this.names.get(text);
    if (!name) {
      name = `pb_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
      this.names.set(text, name);
    }
    try {
      return (await db.query<R>({ name, text, values })).rows;
    } catch (err) {
      throw this.wrap(err);
    }
  }

  /** Runs `fn` in one transaction on one client; rolls back on any error. */
  async tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.wrap(err);
    }
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw this.wrap(err);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}
