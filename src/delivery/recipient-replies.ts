// Each recipient's reply to one transaction as its new status: delivered, still pending, refused,
// or rerouted to the mailbox's fallback (which is added as a new pending recipient).
import { isTooLarge, replyKind } from '../smtp/refusal.js';
import type { RecipientReply } from '../smtp/types.js';
import type { RecipientRecord, StoredReply } from '../store/types.js';

export function applyReplies(
  recipients: RecipientRecord[],
  replies: RecipientReply[],
  fallback: string | undefined,
  log: Array<{ address: string; reply?: StoredReply }>,
  onTooLarge: (reply: StoredReply) => void,
): RecipientRecord[] {
  const out = recipients.map((r) => ({ ...r }));
  for (const { address, reply } of replies) {
    const stored: StoredReply = { code: reply.code, enhanced: reply.enhanced, text: reply.text };
    log.push({ address, reply: stored });
    const r = out.find((x) => x.address === address && x.status === 'pending');
    if (!r) continue;
    r.reply = stored;
    const kind = replyKind(reply);
    if (kind === 'ok') r.status = 'delivered';
    else if (kind === 'temporary') r.status = 'pending';
    else if (isTooLarge(reply)) {
      r.status = 'refused';
      onTooLarge(stored);
    } else if (fallback && address !== fallback && !out.some((x) => x.address === fallback)) {
      r.status = 'rerouted';
      out.push({
        address: fallback,
        status: 'pending',
        reason: `fallback for ${address}, refused: ${describeReply(stored)}`,
      });
    } else {
      r.status = 'refused';
    }
  }
  return out;
}

export function describeReply(reply: StoredReply | undefined): string {
  if (!reply) return 'no reply';
  return `${reply.code}${reply.enhanced ? ` ${reply.enhanced}` : ''} ${reply.text}`;
}
