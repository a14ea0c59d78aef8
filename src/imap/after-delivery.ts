// What happens at the source to a delivered message, per mailbox: deleted (\Deleted + UID EXPUNGE),
// moved to a folder (MOVE, or COPY then delete), or kept and marked \Seen. Only ever called for
// messages the store holds as delivered or quarantined, after its commit.
import type { ImapFlow } from 'imapflow';
import type { Logger } from '../log.js';
import type { RefusedDeletion, SourceMessage } from '../source/types.js';
import { imapError } from './errors.js';
import type { AfterDelivery } from './options.js';

export type ExpungeWay = 'uid-expunge' | 'expunge' | 'leave-flagged';

/**
 * UID EXPUNGE (UIDPLUS) removes exactly ours. Without it only a plain EXPUNGE exists, which removes
 * every \Deleted message of the folder: allowed only when no one else's message is flagged so.
 */
export function expungeWay(
  uidPlus: boolean,
  flaggedDeleted: readonly number[],
  ours: readonly number[],
): ExpungeWay {
  if (uidPlus) return 'uid-expunge';
  const mine = new Set(ours);
  return flaggedDeleted.every((u) => mine.has(u)) ? 'expunge' : 'leave-flagged';
}

export interface FolderBatch {
  folder: string;
  /** The listed messages of this folder and their UIDs. */
  items: Array<{ msg: SourceMessage; uid: number }>;
}

export class AfterDeliveryActions {
  private moveTargetReady = false;

  constructor(
    private readonly client: ImapFlow,
    private readonly mode: AfterDelivery,
    private readonly where: string,
    private readonly log: Logger,
  ) {}

  /** Removes (or moves) one folder's messages; the folder is selected. */
  async remove(batch: FolderBatch): Promise<RefusedDeletion[]> {
    const uids = batch.items.map((i) => i.uid);
    const range = uids.join(',');
    if (typeof this.mode === 'object') {
      const target = this.mode.moveTo;
      await this.ensureFolder(target);
      if (this.client.capabilities.has('MOVE')) {
        const moved = await this.client.messageMove(range, target, { uid: true });
        return moved ? [] : this.refuse(batch, `UID MOVE to ${target} refused`);
      }
      const copied = await this.client.messageCopy(range, target, { uid: true });
      if (!copied) return this.refuse(batch, `UID COPY to ${target} refused`);
    }
    return this.expunge(batch, uids, range);
  }

  /** Keep mode: delivered messages stay, read (\Seen set once, not again each pass). */
  async markSeen(batch: FolderBatch): Promise<RefusedDeletion[]> {
    const range = batch.items.map((i) => i.uid).join(',');
    const ok = await this.client.messageFlagsAdd(range, ['\\Seen'], { uid: true });
    return ok ? [] : this.refuse(batch, 'STORE +FLAGS (\\Seen) refused');
  }

  private async expunge(batch: FolderBatch, uids: number[], range: string): Promise<RefusedDeletion[]> {
    const uidPlus = this.client.capabilities.has('UIDPLUS');
    if (uidPlus) {
      // messageDelete with uid: STORE +FLAGS.SILENT (\Deleted), then UID EXPUNGE of exactly these.
      return (await this.client.messageDelete(range, { uid: true }))
        ? []
        : this.refuse(batch, 'UID EXPUNGE refused');
    }
    if (!(await this.client.messageFlagsAdd(range, ['\\Deleted'], { uid: true })))
      return this.refuse(batch, 'STORE +FLAGS (\\Deleted) refused');
    const flagged = (await this.client.search({ deleted: true }, { uid: true })) || [];
    const way = expungeWay(false, flagged, uids);
    if (way === 'expunge') {
      return (await this.client.messageDelete(range, { uid: true }))
        ? []
        : this.refuse(batch, 'EXPUNGE refused');
    }
    const others = flagged.length - uids.filter((u) => flagged.includes(u)).length;
    this.log.warn(
      { folder: batch.folder, others },
      `folder ${batch.folder}: ${uids.length} delivered messages flagged \\Deleted but not expunged: the server has no UIDPLUS and ${others} other messages are flagged \\Deleted by someone else (a plain EXPUNGE would remove them too); tried again next pass`,
    );
    return batch.items.map(({ msg }) => ({
      message: msg,
      deferred: true,
      error: new Error('flagged \\Deleted, expunge deferred'),
    }));
  }

  private async ensureFolder(path: string): Promise<void> {
    if (this.moveTargetReady) return;
    const listed = await this.client.list();
    if (!listed.some((f) => f.path === path)) {
      try {
        await this.client.mailboxCreate(path);
        this.log.info(`created folder ${path} for delivered mail (afterDelivery.moveTo)`);
      } catch (err) {
        throw imapError(err, this.where, `CREATE ${path}`);
      }
    }
    this.moveTargetReady = true;
  }

  private refuse(batch: FolderBatch, what: string): RefusedDeletion[] {
    const error = imapError(
      Object.assign(new Error(what), { responseStatus: 'NO', responseText: what }),
      this.where,
      what.split(' refused')[0],
    );
    return batch.items.map(({ msg }) => ({ message: msg, error }));
  }
}
