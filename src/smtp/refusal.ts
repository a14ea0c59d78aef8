// What a reply means for the mail: accepted, try later, refused; and whether the server refuses
// Postbote's connector itself (a configuration fault) rather than the message.
import type { RecipientReply, SmtpReply } from './types.js';

export type ReplyKind = 'ok' | 'temporary' | 'permanent';

/** 2xx (and 3xx intermediate replies) are ok, 4xx temporary, 5xx permanent (RFC 5321 4.2.1). */
export function replyKind(reply: SmtpReply): ReplyKind {
  if (reply.code >= 500) return 'permanent';
  if (reply.code >= 400) return 'temporary';
  return 'ok';
}

/**
 * The message is over the server's size limit: 552 (RFC 5321 4.5.3.1.10 as amended by RFC 1869 for
 * SIZE) or enhanced 5.3.4 "message too big for system" / 5.2.3 "message length exceeds limit".
 * A 452 / 4.3.4 means "too big right now" and stays temporary, so it is not matched.
 */
export function isTooLarge(reply: SmtpReply): boolean {
  if (reply.enhanced === '5.3.4' || reply.enhanced === '5.2.3') return true;
  // 552 is also "exceeded storage allocation" (mailbox full, 5.2.2): that is the recipient's problem.
  return reply.code === 552 && reply.enhanced !== '5.2.2';
}

// Texts servers use when refusing the sending client rather than a recipient: Postfix ("Relay access
// denied", "Client host rejected"), Exchange ("Unable to relay", "Client was not authenticated"),
// Sendmail ("Relaying denied"), Exim ("relay not permitted"), Microsoft 365 ("5.7.64 Relay Access Denied").
const REFUSAL_TEXTS = [
  /\brelay(?:ing)? (?:access )?denied\b/i,
  /\brelay(?:ing)? (?:is )?not permitted\b/i,
  /\bnot (?:permitted|allowed|authori[sz]ed) to relay\b/i,
  /\bunable to relay\b/i,
  /\bwe do not relay\b/i,
  /\bclient host (?:\S+ )?rejected\b/i,
  /\bauthentication (?:is )?required\b/i,
  /\bclient (?:was )?not authenticated\b/i,
  /\bmust (?:first )?authenticate\b/i,
];

/** The reply says the server refuses this client (relay, source address, authentication). */
export function isClientRefusal(reply: SmtpReply): boolean {
  if (replyKind(reply) === 'ok') return false;
  // 530: authentication required (RFC 4954 6). 5.7.1 (delivery not authorised) given to every
  // recipient means the connector is not allowed to relay, whatever the text says.
  if (reply.code === 530 || reply.enhanced === '5.7.1') return true;
  return REFUSAL_TEXTS.some((re) => re.test(reply.text));
}

/**
 * 'client-refused' when every recipient was refused with a reply that refuses the connector itself
 * (so nothing must be quarantined or rerouted); null when at least one recipient was accepted or
 * refused for reasons of its own. An empty list is null: there is nothing to judge.
 */
export function classifyRefusal(replies: RecipientReply[]): 'client-refused' | null {
  if (replies.length === 0) return null;
  return replies.every((r) => isClientRefusal(r.reply)) ? 'client-refused' : null;
}

/**
 * Exchange's "550 5.7.54 Unable to relay recipient in non-accepted domain": the recipient's domain is
 * not an accepted domain of the organisation. Adding the source address to RemoteIPRanges cannot help.
 */
export function isNonAcceptedDomain(reply: SmtpReply): boolean {
  return reply.enhanced === '5.7.54' || /\bnon-accepted domain\b/i.test(reply.text);
}

/** The fix when the target refuses every recipient: the accepted domains, or the connector's source address. */
export function connectorRefusalHint(replies: RecipientReply[], localAddress: string | undefined): string {
  if (replies.length > 0 && replies.every((r) => isNonAcceptedDomain(r.reply))) {
    const domains = [...new Set(replies.map((r) => r.address.slice(r.address.lastIndexOf('@') + 1)))];
    const list = domains.join(', ');
    const commands = domains
      .map((d) => `New-AcceptedDomain -Name ${d} -DomainName ${d} -DomainType Authoritative`)
      .join('; ');
    return (
      `${list} ${domains.length === 1 ? 'is not an accepted domain' : 'are not accepted domains'} of the mail server: ` +
      `the recipient's domain must be an accepted domain on Exchange (${commands}), or deliver to an address in an accepted domain`
    );
  }
  return (
    `the receive connector refuses Postbote itself: add ${localAddress ?? 'this machine’s address'} to RemoteIPRanges ` +
    'and allow anonymous senders, or set target.auth (postbote exchange-connector prints the Exchange commands)'
  );
}
