// The IMAP SourceSession: lists the chosen folders (UID, RFC822.SIZE, INTERNALDATE, Message-ID, flags),
// streams bodies with BODY.PEEK[] windows, and after delivery deletes, moves or marks \Seen. A listed
// message's uid is folder + UIDVALIDITY + UID (uid.ts); `num` is its index in this session's listing.

import type { Readable } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { ImapFlow } from 'imapflow';
import { notePeerCertificate } from '../alerts/certificates.js';
import { PostboteError } from '../errors.js';
import type { RefusedDeletion, SourceListing, SourceMessage, SourceSession } from '../source/types.js';
import { AfterDeliveryActions, type FolderBatch } from './after-delivery.js';
import { messageStream } from './body.js';
import { imapError } from './errors.js';
import { chooseFolders } from './folders.js';
import { flowOptions, type ImapOptions } from './options.js';
import { formatImapUid } from './uid.js';

// Messages listed per mailbox at most, as for POP3: bounds memory against a server listing without end.
const MAX_LISTED = 1_000_000;
// A message's deadline: the configured base plus 1 s per 10 KB, as POP3 RETR (timeouts.message).
const MESSAGE_BASE_MS = 60_000;
const BYTES_PER_SECOND = 10_000;

interface Entry {
  folder: string;
  uidValidity: string;
  uid: number;
  seen: boolean;
}

export async function openImap(o: ImapOptions): Promise<ImapSession> {
  const where = `imap ${o.host}:${o.port}`;
  const client = new ImapFlow(flowOptions(o));
  // imapflow emits 'error' with the cause (oversized literal, socket timeout, parser failure) when it
  // drops the connection; the command in flight only learns "no connection". Kept to say why.
  const why: { error?: unknown } = {};
  client.on('error', (err: unknown) => {
    why.error ??= err;
    o.logger.debug({ err }, 'imap connection error');
  });
  try {
    await client.connect();
  } catch (err) {
    client.close();
    throw imapError(why.error && isClosed(err) ? why.error : err, where);
  }
  // After IMAPS or STARTTLS the session runs on a TLSSocket: its certificate's expiry feeds the alerts
  // as POP3's does, from the handshake that happened anyway.
  // imapflow keeps its socket in an untyped field (the TLSSocket after IMAPS or the STARTTLS upgrade).
  const socket = (client as unknown as { socket?: unknown }).socket;
  if (socket instanceof TLSSocket) notePeerCertificate(o.host, o.port, socket);
  return new ImapSession(client, o, where, why);
}

export class ImapSession implements SourceSession {
  readonly protocol = 'imap' as const;
  readonly pipelining = false;
  readonly server: string;
  private readonly entries = new Map<number, Entry>();
  private readonly actions: AfterDeliveryActions;
  private alive = true;

  constructor(
    private readonly client: ImapFlow,
    private readonly o: ImapOptions,
    private readonly where: string,
    private readonly why: { error?: unknown } = {},
  ) {
    this.server = o.host;
    this.actions = new AfterDeliveryActions(client, o.afterDelivery, where, o.logger);
  }

  get secure(): boolean {
    return this.client.secureConnection;
  }

  async list(): Promise<SourceListing> {
    const listing: SourceListing = { messages: [], refused: [] };
    this.entries.clear();
    // imapflow puts a relative name under the personal namespace (Courier's "INBOX."): skip both forms.
    const target = typeof this.o.afterDelivery === 'object' ? this.o.afterDelivery.moveTo : undefined;
    const prefix = this.client.namespace?.prefix ?? '';
    const moveTo = target === undefined ? [] : [target, `${prefix}${target}`];
    const all = await this.run('LIST', () => this.client.list());
    const choice = chooseFolders(all, this.o.folders, this.o.exclude, moveTo);
    for (const folder of choice.missing) {
      // Refused, not thrown: the other folders go on, and nothing known is detached for want of it.
      listing.refused.push({ line: `folder ${folder}`, why: 'the server lists no such selectable folder' });
    }
    for (const folder of choice.folders) {
      const box = await this.run(`SELECT ${folder}`, () => this.client.mailboxOpen(folder));
      const uidValidity = String(box.uidValidity);
      if (box.exists === 0) continue;
      const fetched = this.client.fetch(
        '1:*',
        { uid: true, size: true, internalDate: true, envelope: true, flags: true },
        {},
      );
      try {
        for await (const m of fetched) {
          if (listing.messages.length >= MAX_LISTED) {
            listing.refused.push({
              line: `folder ${folder}`,
              why: `more than ${MAX_LISTED} messages listed`,
            });
            break;
          }
          const uid = formatImapUid({ folder, uidValidity, uid: m.uid });
          if (typeof m.size !== 'number') {
            listing.refused.push({ line: uid, why: 'no RFC822.SIZE in the FETCH answer' });
            continue;
          }
          const num = listing.messages.length + 1;
          const date = m.internalDate ? new Date(m.internalDate).getTime() : Number.NaN;
          const messageId = normaliseMessageId(m.envelope?.messageId);
          listing.messages.push({
            uid,
            num,
            size: m.size,
            ...(messageId ? { messageId } : {}),
            ...(Number.isFinite(date) ? { internalDate: date } : {}),
          });
          this.entries.set(num, { folder, uidValidity, uid: m.uid, seen: m.flags?.has('\\Seen') ?? false });
        }
      } catch (err) {
        throw this.fail(err, `FETCH 1:* in ${folder}`);
      }
    }
    return listing;
  }

  retrieve(message: SourceMessage): Readable {
    const e = this.entry(message);
    return messageStream(this.client, {
      uid: e.uid,
      size: message.size,
      where: this.where,
      ready: () => this.select(e),
      broken: () => {
        this.alive = false;
        this.client.close();
      },
      explain: (err, command) => this.fail(err, command),
      deadline: (this.o.timeouts.message ?? MESSAGE_BASE_MS) + (message.size / BYTES_PER_SECOND) * 1000,
    });
  }

  retrieveMany(messages: SourceMessage[]): Readable[] {
    return messages.map((m) => this.retrieve(m));
  }

  async top(message: SourceMessage, _lines: number): Promise<Buffer> {
    const e = this.entry(message);
    await this.select(e);
    const r = await this.run(`UID FETCH ${e.uid} BODY.PEEK[HEADER]`, () =>
      this.client.fetchOne(String(e.uid), { headers: true }, { uid: true }),
    );
    if (r === false || !r.headers) {
      throw new PostboteError('IMAP_CHANGED', `message UID ${e.uid} in ${e.folder} is no longer there`, {
        temporary: true,
        where: this.where,
        reply: { code: 'NO', text: 'no such message' },
      });
    }
    return r.headers;
  }

  async delete(messages: SourceMessage[]): Promise<RefusedDeletion[]> {
    return this.perFolder(messages, (batch) => this.actions.remove(batch));
  }

  async markKept(messages: SourceMessage[]): Promise<RefusedDeletion[]> {
    const unseen = messages.filter((m) => !this.entry(m).seen);
    return this.perFolder(unseen, (batch) => this.actions.markSeen(batch));
  }

  async close(): Promise<void> {
    if (!this.alive) return;
    this.alive = false;
    try {
      await this.client.logout();
    } catch (err) {
      this.client.close();
      throw imapError(err, this.where, 'LOGOUT');
    }
  }

  abort(): void {
    this.alive = false;
    this.client.close();
  }

  private async perFolder(
    messages: SourceMessage[],
    act: (batch: FolderBatch) => Promise<RefusedDeletion[]>,
  ): Promise<RefusedDeletion[]> {
    const batches = new Map<string, FolderBatch & { entry: Entry }>();
    for (const msg of messages) {
      const e = this.entry(msg);
      const b = batches.get(e.folder) ?? { folder: e.folder, items: [], entry: e };
      b.items.push({ msg, uid: e.uid });
      batches.set(e.folder, b);
    }
    const refused: RefusedDeletion[] = [];
    for (const b of batches.values()) {
      try {
        await this.select(b.entry);
        refused.push(...(await act(b)));
      } catch (err) {
        const error = this.fail(err, `after delivery in ${b.folder}`);
        // A failure with the server's words costs this folder; a lost connection ends the session.
        if (error.reply === undefined) throw error;
        refused.push(...b.items.map(({ msg }) => ({ message: msg, error })));
      }
    }
    return refused;
  }

  /** Selects the entry's folder if another is selected, and checks that its UIDs still mean the same. */
  private async select(e: Entry): Promise<void> {
    if (this.client.mailbox === false || this.client.mailbox.path !== e.folder) {
      await this.run(`SELECT ${e.folder}`, () => this.client.mailboxOpen(e.folder));
    }
    const box = this.client.mailbox;
    if (box === false || String(box.uidValidity) !== e.uidValidity) {
      throw new PostboteError(
        'IMAP_CHANGED',
        `folder ${e.folder} changed its UIDVALIDITY during the session`,
        {
          temporary: true,
          where: this.where,
          reply: {
            code: 'OK',
            text: `UIDVALIDITY ${box === false ? '?' : box.uidValidity}, listed ${e.uidValidity}`,
          },
          hint: 'the folder was recreated or migrated: the next pass recognises its messages by Message-ID, size and date',
        },
      );
    }
  }

  private entry(m: SourceMessage): Entry {
    const e = this.entries.get(m.num);
    if (!e)
      throw new PostboteError('PROTOCOL', `message ${m.uid} is not in this session's listing`, {
        temporary: false,
      });
    return e;
  }

  private async run<T>(command: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.fail(err, command);
    }
  }

  private fail(err: unknown, command: string): PostboteError {
    const cause = this.why.error !== undefined && isClosed(err) ? this.why.error : err;
    const e = imapError(cause, this.where, command);
    if (e.reply === undefined) this.alive = false;
    return e;
  }
}

/** imapflow's "the connection is gone" errors, which hide the reason it went. */
function isClosed(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return code === 'NoConnection' || code === 'EConnectionClosed';
}

/** Message-ID as the store keeps it (src/message: the address inside the angle brackets). */
export function normaliseMessageId(raw: string | undefined): string | undefined {
  const v = raw?.trim();
  if (!v) return undefined;
  const m = /<([^>]*)>/.exec(v);
  return (m ? m[1]! : v).trim() || undefined;
}
