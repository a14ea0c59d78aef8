// Duplicate suppression: a recipient who already got this message (same fingerprint) within the
// mailbox's window gets no second copy; the record says which earlier copy it was, never silently.
import type { RecipientRecord, Store } from '../store/types.js';
import type { Decision } from './types.js';

/** The earlier record a message duplicates (its first duplicate recipient's), for the message log's link. */
export function duplicateOf(recipients: RecipientRecord[]): number | undefined {
  return recipients.find((r) => r.duplicateOf !== undefined)?.duplicateOf;
}

export interface DuplicateVerdict {
  recipients: RecipientRecord[];
  /** Every recipient was a duplicate: the message is final as 'duplicate' with this reason. */
  allDuplicate?: string;
  trace: string[];
}

export async function markDuplicates(
  store: Pick<Store, 'seenCopies'>,
  decision: Decision,
  windowMs: number | undefined,
  now: number,
): Promise<DuplicateVerdict> {
  const pending = decision.recipients.filter((r) => r.status === 'pending');
  if (!windowMs || decision.quarantine || pending.length === 0)
    return { recipients: decision.recipients, trace: [] };
  const seen = await store.seenCopies(
    decision.fingerprint,
    pending.map((r) => r.address),
    now - windowMs,
  );
  if (seen.size === 0) return { recipients: decision.recipients, trace: [] };
  const trace: string[] = [];
  const recipients = decision.recipients.map((r): RecipientRecord => {
    const copy = r.status === 'pending' ? seen.get(r.address) : undefined;
    if (!copy) return r;
    const when = new Date(copy.at).toISOString();
    // messageId 0: an earlier message of the same `postbote route` listing, not a stored record.
    const of = copy.messageId > 0 ? `duplicate of #${copy.messageId}, ` : '';
    const reason = `duplicate: ${r.address} already got ${decision.fingerprint} (${of}mailbox ${copy.mailbox}, uid ${copy.uid}, ${when})`;
    trace.push(reason);
    return {
      ...r,
      status: 'duplicate',
      reason,
      ...(copy.messageId > 0 ? { duplicateOf: copy.messageId } : {}),
    };
  });
  const left = recipients.filter((r) => r.status === 'pending');
  if (left.length > 0) return { recipients, trace };
  return { recipients, allDuplicate: `duplicate for every recipient: ${trace.join('; ')}`, trace };
}
