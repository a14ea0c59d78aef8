// A user's mailbox in the in-process POP3 server: messages with stable unique ids, an exclusive
// lock for the session that holds it (RFC 1939 §8), and deletions applied only on commit.
import { createHash } from 'node:crypto';

export interface StoredMessage {
  readonly uid: string;
  readonly data: Buffer;
}

export class Maildrop {
  private messages: StoredMessage[] = [];
  private serial = 0;
  private holder: number | undefined;

  constructor(initial: Iterable<Buffer> = []) {
    for (const data of initial) this.add(data);
  }

  /**
   * Appends a message; its UIDL is stable for the life of the maildrop, and never reused unless `uid`
   * is given (fault tests: servers that reuse or repeat uids).
   */
  add(data: Buffer, uid?: string): StoredMessage {
    this.serial += 1;
    const digest = createHash('sha1').update(data).digest('hex').slice(0, 12);
    const message = { uid: uid ?? `${this.serial.toString(16).padStart(8, '0')}.${digest}`, data };
    this.messages.push(message);
    return message;
  }

  /** The messages now, as committed. */
  current(): readonly StoredMessage[] {
    return [...this.messages];
  }

  /** Takes the lock for a session; false when another session holds it. */
  lock(sessionId: number): boolean {
    if (this.holder !== undefined && this.holder !== sessionId) return false;
    this.holder = sessionId;
    return true;
  }

  unlock(sessionId: number): void {
    if (this.holder === sessionId) this.holder = undefined;
  }

  /** Removes the messages with these uids: what QUIT in the UPDATE state does. */
  commitDeletes(uids: ReadonlySet<string>): void {
    this.messages = this.messages.filter((m) => !uids.has(m.uid));
  }
}
