// Whose fault a failed transaction is: the target refusing Postbote (nothing changes for the message),
// the message itself (quarantined now), or a target that is down (retried with the backoff).
import { type ErrorCode, PostboteError } from '../errors.js';
import { connectorRefusalHint, isNonAcceptedDomain } from '../smtp/refusal.js';
import type { RecipientReply } from '../smtp/types.js';
import type { Target } from './target.js';

/** Errors that say the target refuses the connector itself, whatever `temporary` says. */
const CONNECTOR_CODES: ReadonlySet<ErrorCode> = new Set([
  'SMTP_REFUSED_CLIENT',
  'SMTP_AUTH',
  'TLS_REQUIRED',
  'TLS_FAILED',
  'SMTP_GREETING',
]);
/** Permanent errors about this message's own envelope or content: no target will take it as it is. */
const MESSAGE_CODES: ReadonlySet<ErrorCode> = new Set([
  'SMTP_SENDER',
  'SMTP_RECIPIENT',
  'SMTP_DATA',
  'MESSAGE_TOO_LARGE',
]);
/** Postbote's own disk and database: neither the target's fault nor the message's. */
const LOCAL_CODES: ReadonlySet<ErrorCode> = new Set(['SPOOL', 'STORE', 'CANCELLED']);

/**
 * What a transaction that failed without replies says. 'connector': the target refuses Postbote or
 * cannot be reached as configured (a permanent error: localAddress not on this machine, certificate
 * not trusted) - configuration, not the mail, so the message is left as it is. 'message': retrying this
 * message can never help - quarantined now. 'down': temporary, retried with the backoff.
 */
export function classifySendFailure(error: PostboteError): 'connector' | 'message' | 'down' {
  if (CONNECTOR_CODES.has(error.code)) return 'connector';
  if (error.temporary || LOCAL_CODES.has(error.code)) return 'down';
  return MESSAGE_CODES.has(error.code) ? 'message' : 'connector';
}

/** Every recipient refused in one voice: the target refuses Postbote, with the fix as the hint. */
export function connectorRefusedError(target: Target, replies: RecipientReply[]): PostboteError {
  const first = replies[0]?.reply;
  const source = target.localAddress ?? 'this machine’s address';
  return new PostboteError(
    'SMTP_REFUSED_CLIENT',
    'the target refuses every recipient: it does not accept Postbote',
    {
      temporary: true,
      where: target.where,
      reply: first && { code: first.code, enhanced: first.enhanced, text: first.text },
      hint: replies.every((r) => isNonAcceptedDomain(r.reply))
        ? connectorRefusalHint(replies, target.localAddress)
        : `the receive connector refuses mail from ${source}: add it to RemoteIPRanges on the receive connector ` +
          '(and allow anonymous or set target.auth), or set target.localAddress to an allowed address',
    },
  );
}
