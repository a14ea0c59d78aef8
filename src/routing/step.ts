// The routing step of a mailbox pass: decide (loop, envelope, rules), then suppress duplicates
// against the store. Returns everything the pass records with the message, explanation included.
import type { RecipientRecord, Store } from '../store/types.js';
import { type DecisionInput, decide } from './decide.js';
import { markDuplicates } from './duplicates.js';
import type { Condition, RoutingRule } from './types.js';

export interface RoutingOutcome {
  recipients: RecipientRecord[];
  /** Not to be delivered: loop or a rule's quarantine. */
  quarantine?: string;
  /** Not to be delivered: every recipient already got it within the window. */
  duplicate?: string;
  fingerprint: string;
  explanation: string[];
}

export interface RoutingStepInput extends Omit<DecisionInput, 'attachments'> {
  /** Reads the attachment names; called only when a rule asks about attachments. */
  attachments?: () => Promise<string[]>;
  now: number;
}

export async function routingStep(
  store: Pick<Store, 'seenCopies'>,
  input: RoutingStepInput,
): Promise<RoutingOutcome> {
  const { attachments: readAttachments, now, ...rest } = input;
  const rules = rest.route.rules ?? [];
  const attachments = readAttachments && rules.some(usesAttachments) ? await readAttachments() : undefined;
  const decision = decide({ ...rest, ...(attachments ? { attachments } : {}) });
  const window = rest.route.catchAll?.duplicateWindow;
  const verdict = await markDuplicates(store, decision, window, now);
  const explanation = [...decision.trace, ...verdict.trace];
  if (decision.quarantine) explanation.push(`quarantined: ${decision.quarantine}`);
  return {
    recipients: verdict.recipients,
    fingerprint: decision.fingerprint,
    explanation,
    ...(decision.quarantine ? { quarantine: decision.quarantine } : {}),
    ...(verdict.allDuplicate ? { duplicate: verdict.allDuplicate } : {}),
  };
}

export function usesAttachments(rule: RoutingRule): boolean {
  const walk = (c: Condition): boolean => {
    if ('all' in c) return c.all.some(walk);
    if ('any' in c) return c.any.some(walk);
    if ('not' in c) return walk(c.not);
    return 'attachment' in c;
  };
  return walk(rule.if);
}
