// How many sessions a receive connector holds at once, in all and per remote address (Postfix's
// smtpd_client_connection_count_limit, Exchange's MaxInboundConnection and ...PerSource): a client
// over either limit gets 421 and comes back later, so one host cannot take every session.

export type Admission = 'ok' | 'total' | 'per-ip';

export class ConnectionTable {
  /** Admitted session id → its remote address. */
  private readonly sessions = new Map<string, string>();
  private readonly perIp = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerIp: number,
  ) {}

  /** Admits session `id` from `ip` unless a limit is reached; only admitted sessions count. */
  admit(id: string, ip: string): Admission {
    if (this.sessions.size >= this.maxTotal) return 'total';
    const fromIp = this.perIp.get(ip) ?? 0;
    if (fromIp >= this.maxPerIp) return 'per-ip';
    this.sessions.set(id, ip);
    this.perIp.set(ip, fromIp + 1);
    return 'ok';
  }

  /** The session ended; a session that was never admitted is ignored. */
  release(id: string): void {
    const ip = this.sessions.get(id);
    if (ip === undefined) return;
    this.sessions.delete(id);
    const left = (this.perIp.get(ip) ?? 1) - 1;
    if (left > 0) this.perIp.set(ip, left);
    else this.perIp.delete(ip); // the map holds only addresses with open sessions
  }

  get size(): number {
    return this.sessions.size;
  }

  from(ip: string): number {
    return this.perIp.get(ip) ?? 0;
  }
}
