// The company mail server's receive connector: a small pool of SMTP/LMTP connections reused across
// messages and mailboxes, and the target's health as users see it (ok, down, refusing Postbote).
import type { Readable } from 'node:stream';
import { isPostboteError, type PostboteError, toPostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Envelope, SendResult, SmtpClientOptions, SmtpConnection } from '../smtp/types.js';

/** A server drops idle clients after a few minutes (RFC 5321 suggests 5); close ours well before. */
const IDLE_CLOSE_MS = 30_000;

export type TargetState = 'unknown' | 'ok' | 'down' | 'refusing';

export interface TargetHealth {
  state: TargetState;
  since: number;
  error?: PostboteError;
}

export type SmtpConnector = (options: SmtpClientOptions) => Promise<SmtpConnection>;

/** Told of every transaction with the target (the metrics): how long it took, waiting for a connection included. */
export interface TransactionRecorder {
  transaction(seconds: number, result: 'ok' | 'error'): void;
}

interface Idle {
  conn: SmtpConnection;
  timer: NodeJS.Timeout;
}

export class Target {
  readonly where: string;
  private readonly idle: Idle[] = [];
  private active = 0;
  private readonly waiters: Array<() => void> = [];
  private closing = false;
  private _health: TargetHealth = { state: 'unknown', since: Date.now() };
  private readonly healthWatchers = new Set<(health: TargetHealth) => void>();
  private readonly recorders = new Set<TransactionRecorder>();

  constructor(
    private readonly options: SmtpClientOptions & { maxConnections: number },
    private readonly connect: SmtpConnector,
    private readonly logger: Logger,
  ) {
    this.where = `target ${options.host}:${options.port}`;
  }

  get localAddress(): string | undefined {
    return this.options.localAddress;
  }

  get health(): TargetHealth {
    return this._health;
  }

  /** Records what happened, so the CLI and the web page can show the target's state and the fix. */
  setHealth(state: TargetState, error?: PostboteError): void {
    if (state !== this._health.state) {
      const log = state === 'ok' ? this.logger.info.bind(this.logger) : this.logger.warn.bind(this.logger);
      log({ state, error: error?.describe() }, `${this.where} is ${state}`);
      this._health = { state, since: Date.now(), error };
      for (const watch of this.healthWatchers) watch(this._health);
    } else {
      this._health = { ...this._health, error };
    }
  }

  /** Called on each change of state (the scheduler retries deferred mail when it turns ok). */
  onHealth(watch: (health: TargetHealth) => void): () => void {
    this.healthWatchers.add(watch);
    return () => this.healthWatchers.delete(watch);
  }

  /**
   * The health check: a connection with its greeting, TLS and AUTH as configured, no transaction.
   * Success marks the target ok; a failure keeps its state (down or refusing) with the new error.
   */
  async check(): Promise<boolean> {
    try {
      const conn = await this.acquire();
      this.release(conn, !conn.closed);
      this.setHealth('ok');
      return true;
    } catch (err) {
      const error = isPostboteError(err) ? err : toPostboteError(err, this.where);
      this.setHealth(
        this._health.state === 'ok' || this._health.state === 'unknown' ? 'down' : this._health.state,
        error,
      );
      return false;
    }
  }

  /** Adds a recorder of transaction timings; returns the function that removes it. */
  record(recorder: TransactionRecorder): () => void {
    this.recorders.add(recorder);
    return () => this.recorders.delete(recorder);
  }

  /** One transaction on a pooled connection. A broken connection is dropped, never reused. */
  async send(envelope: Envelope, body: () => Readable): Promise<SendResult> {
    const started = performance.now();
    let result: 'ok' | 'error' = 'error';
    try {
      const conn = await this.acquire();
      let healthy = false;
      try {
        const sent = await conn.send(envelope, body());
        healthy = !conn.closed;
        result = 'ok';
        return sent;
      } finally {
        this.release(conn, healthy);
      }
    } finally {
      const seconds = (performance.now() - started) / 1000;
      for (const r of this.recorders) r.transaction(seconds, result);
    }
  }

  /** MAIL/RCPT without data, then RSET: what `postbote check` uses to prove the path. */
  async probe(envelope: Envelope): Promise<SendResult> {
    const conn = await this.acquire();
    let healthy = false;
    try {
      const result = await conn.probe(envelope);
      healthy = !conn.closed;
      return result;
    } finally {
      this.release(conn, healthy);
    }
  }

  private async acquire(): Promise<SmtpConnection> {
    for (;;) {
      if (this.closing) throw toPostboteError(new Error('shutting down'), this.where);
      const idle = this.idle.pop();
      if (idle) {
        clearTimeout(idle.timer);
        if (!idle.conn.closed) {
          this.active++;
          return idle.conn;
        }
        continue;
      }
      if (this.active < this.options.maxConnections) {
        this.active++;
        try {
          return await this.connect(this.options);
        } catch (err) {
          this.active--;
          this.wakeOne();
          throw isPostboteError(err) ? err : toPostboteError(err, this.where);
        }
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private release(conn: SmtpConnection, healthy: boolean): void {
    this.active--;
    if (healthy && !this.closing) {
      const timer = setTimeout(() => this.dropIdle(conn), IDLE_CLOSE_MS);
      timer.unref();
      this.idle.push({ conn, timer });
    } else {
      conn.close();
    }
    this.wakeOne();
  }

  private dropIdle(conn: SmtpConnection): void {
    const i = this.idle.findIndex((x) => x.conn === conn);
    if (i >= 0) this.idle.splice(i, 1);
    conn.quit().catch(() => conn.close());
  }

  private wakeOne(): void {
    this.waiters.shift()?.();
  }

  async close(): Promise<void> {
    this.closing = true;
    const idle = this.idle.splice(0);
    await Promise.all(
      idle.map(async ({ conn, timer }) => {
        clearTimeout(timer);
        await conn.quit().catch(() => conn.close());
      }),
    );
    for (const w of this.waiters.splice(0)) w();
  }
}
