// Every admitted session of one listener: its slot in the connection table, its absolute deadline
// (Exchange's ConnectionTimeout) and its failed AUTH count. A session past its deadline gets 421 at
// once, unless a reply for a received message is still owed: then right after that reply, so a
// message the client finished sending is never answered with a 421 it would send again.
import type { SMTPServer } from 'smtp-server';
import { type Admission, ConnectionTable } from './connection-limits.js';

/** smtp-server's per-client connection (its class is not exported by name). */
export type SMTPConnection = SMTPServer['connections'] extends Set<infer C> ? C : never;

interface SessionState {
  connection: SMTPConnection | undefined;
  deadline: NodeJS.Timeout;
  authFailures: number;
  replyOwed: boolean;
  expired: boolean;
}

export interface SessionGuardOptions {
  maxConnections: number;
  maxConnectionsPerIp: number;
  sessionTimeoutMs: number;
  /** Called when a session's time is over, before its 421. */
  onExpired: (id: string) => void;
}

const EXPIRED_REPLY = '4.4.2 Session time limit exceeded, closing connection';

export class SessionGuard {
  private readonly table: ConnectionTable;
  private readonly sessions = new Map<string, SessionState>();

  constructor(private readonly options: SessionGuardOptions) {
    this.table = new ConnectionTable(options.maxConnections, options.maxConnectionsPerIp);
  }

  admit(id: string, ip: string, connection: SMTPConnection | undefined): Admission {
    const admission = this.table.admit(id, ip);
    if (admission !== 'ok') return admission;
    const deadline = setTimeout(() => this.expire(id), this.options.sessionTimeoutMs);
    deadline.unref();
    this.sessions.set(id, { connection, deadline, authFailures: 0, replyOwed: false, expired: false });
    return admission;
  }

  release(id: string): void {
    const state = this.sessions.get(id);
    if (state) clearTimeout(state.deadline);
    this.sessions.delete(id);
    this.table.release(id);
  }

  connection(id: string): SMTPConnection | undefined {
    return this.sessions.get(id)?.connection;
  }

  /** Counts a failed AUTH of the session; returns the session's count so far. */
  authFailed(id: string): number {
    const state = this.sessions.get(id);
    if (!state) return Number.POSITIVE_INFINITY;
    state.authFailures += 1;
    return state.authFailures;
  }

  /** The client's message is in: its reply is owed, so the deadline waits for it. */
  replyOwed(id: string): void {
    const state = this.sessions.get(id);
    if (state) state.replyOwed = true;
  }

  /** The owed reply was sent; a deadline that passed meanwhile closes the session now. */
  replied(id: string): void {
    const state = this.sessions.get(id);
    if (!state) return;
    state.replyOwed = false;
    if (state.expired) state.connection?.send(421, EXPIRED_REPLY);
  }

  /** Sends a 421 that ends the session (smtp-server closes the connection after any 421). */
  close(id: string, text: string): void {
    this.sessions.get(id)?.connection?.send(421, text);
  }

  private expire(id: string): void {
    const state = this.sessions.get(id);
    if (!state) return;
    state.expired = true;
    this.options.onExpired(id);
    if (!state.replyOwed) state.connection?.send(421, EXPIRED_REPLY);
  }
}
