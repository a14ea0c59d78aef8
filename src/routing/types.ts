// The routing vocabulary shared by the router, the rules and the CLI preview: what a mailbox's
// configuration says about routing, and the decision made for one message.
import type { RecipientRecord } from '../store/types.js';

export interface CatchAllRule {
  /** Accepted recipient domains (lower case; IDN in either form). */
  domains: string[];
  rewriteDomain?: string;
  fallback: string;
  /** Envelope headers to trust, in order; default DEFAULT_ENVELOPE_HEADERS. */
  headers?: string[];
  /** Address, local part or `*@domain` → recipients. */
  aliases?: Record<string, string[]>;
  /** Milliseconds within which the same message for the same recipient is a duplicate; 0 turns it off. */
  duplicateWindow?: number;
}

/** A text test: a glob (`*` and `?`, case-insensitive), a regular expression, or a substring. */
export type Matcher = { glob: string } | { regex: string } | { contains: string };

export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | { sender: Matcher }
  | { recipient: Matcher }
  | { subject: Matcher }
  | { header: { name: string; value: Matcher } }
  | { attachment: Matcher }
  | { size: { over?: number; under?: number } };

export type Action =
  | { reroute: string[] }
  | { addRecipient: string[] }
  | { copyTo: string[] }
  | { quarantine: string }
  | { stop: true };

export interface RoutingRule {
  name?: string;
  if: Condition;
  /** `then:` in the YAML (not a property named then: that would make rules look like promises). */
  actions: Action[];
}

export interface RouteInput {
  deliverTo?: string[];
  catchAll?: CatchAllRule;
  rules?: RoutingRule[];
}

/** What is decided for one message before any delivery. */
export interface Decision {
  recipients: RecipientRecord[];
  /** Set when the message must not be delivered: loop, or a rule's quarantine. */
  quarantine?: string;
  /** Message-ID, or a hash of the identifying headers, for duplicate suppression. */
  fingerprint: string;
  /** Every step that shaped the decision, in order, for the store and `postbote route`. */
  trace: string[];
}
