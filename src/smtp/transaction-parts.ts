// The pure pieces of a transaction: envelope checks, MAIL/RCPT command lines with ESMTP parameters,
// and the errors and stand-in replies a transaction can produce.
import { PostboteError } from '../errors.js';
import type { Envelope, SmtpReply } from './types.js';

// Control characters would split the command line (CRLF injection from header-derived addresses);
// angle brackets would end the path early.
function unsafe(address: string): boolean {
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x3c || c === 0x3e) return true;
  }
  return false;
}
// Anything outside printable ASCII (control characters are refused before) needs SMTPUTF8 (RFC 6531).
const NON_ASCII = /[^ -~]/;

/** Throws before anything is sent when an address could not be sent safely. */
export function validateEnvelope(envelope: Envelope, where: string): void {
  if (unsafe(envelope.from)) {
    throw new PostboteError('SMTP_SENDER', `sender address ${JSON.stringify(envelope.from)} cannot be sent`, {
      temporary: false,
      where,
    });
  }
  if (envelope.to.length === 0) {
    throw new PostboteError('SMTP_RECIPIENT', 'no recipients', { temporary: false, where });
  }
  for (const to of envelope.to) {
    if (to === '' || unsafe(to)) {
      throw new PostboteError('SMTP_RECIPIENT', `recipient address ${JSON.stringify(to)} cannot be sent`, {
        temporary: false,
        where,
      });
    }
  }
}

/** RFC 6531: UTF-8 in an address or (RFC 6532) in the header block. */
export function needsSmtpUtf8(envelope: Envelope): boolean {
  return (
    envelope.utf8 === true || NON_ASCII.test(envelope.from) || envelope.to.some((to) => NON_ASCII.test(to))
  );
}

/** MAIL FROM with SIZE (RFC 1870), BODY=8BITMIME (RFC 6152) and SMTPUTF8 only where advertised. */
export function mailCommand(envelope: Envelope, extensions: ReadonlyMap<string, string>): string {
  let line = `MAIL FROM:<${envelope.from}>`;
  if (envelope.size !== undefined && extensions.has('SIZE')) line += ` SIZE=${envelope.size}`;
  if (envelope.eightBit && extensions.has('8BITMIME')) line += ' BODY=8BITMIME';
  if (needsSmtpUtf8(envelope) && extensions.has('SMTPUTF8')) line += ' SMTPUTF8';
  return line;
}

/**
 * A message that needs SMTPUTF8 for a target that does not offer it. A UTF-8 *address* cannot be
 * written at all without it: refused with the reason (RFC 6857 allows a downgrade or a refusal;
 * rewriting an address cannot be undone). UTF-8 *header fields* alone are sent unchanged, as Postfix
 * does with mail that did not ask for SMTPUTF8: Exchange, Dovecot's LMTP and most servers without the
 * extension store them as they are, a downgrade would break DKIM signatures over those headers, and
 * quarantining every such message (much mail today) would hold back mail the target accepts. The
 * transaction logs that it happened.
 */
export function smtpUtf8Refusal(
  envelope: Envelope,
  extensions: ReadonlyMap<string, string>,
  where: string,
): PostboteError | undefined {
  if (extensions.has('SMTPUTF8')) return undefined;
  if (!NON_ASCII.test(envelope.from) && !envelope.to.some((to) => NON_ASCII.test(to))) return undefined;
  return new PostboteError(
    'SMTP_UTF8_UNSUPPORTED',
    'the message has a UTF-8 address and the target does not offer SMTPUTF8 (RFC 6531); not sent, not downgraded',
    {
      temporary: false,
      where,
      hint: 'enable SMTPUTF8 on the target (Postfix: smtputf8_enable = yes), then release the message from quarantine',
    },
  );
}

/** UTF-8 header fields going to a target without SMTPUTF8: sent unchanged (see smtpUtf8Refusal). */
export function sentUtf8WithoutExtension(
  envelope: Envelope,
  extensions: ReadonlyMap<string, string>,
): boolean {
  return envelope.utf8 === true && !extensions.has('SMTPUTF8');
}

export function rcptCommand(address: string): string {
  return `RCPT TO:<${address}>`;
}

/** 530 to MAIL without configured AUTH: the connector wants a login (RFC 4954 6), not a verdict on mail. */
export function authRequiredError(reply: SmtpReply, command: string, where: string): PostboteError {
  return new PostboteError('SMTP_REFUSED_CLIENT', 'the target requires authentication', {
    temporary: true,
    reply,
    command,
    where,
    hint:
      'the receive connector requires authentication: set target.auth, or allow anonymous on the ' +
      'connector (PermissionGroups AnonymousUsers)',
  });
}

/**
 * Stands in for an LMTP data reply that never came because the connection broke: 421 4.4.2 ("bad
 * connection", RFC 3463), temporary, so the recipient is retried; marked as Postbote's own words.
 */
export function lostReply(err: unknown): SmtpReply {
  const why = err instanceof Error ? err.message : String(err);
  return { code: 421, enhanced: '4.4.2', text: `[Postbote] no reply for this recipient: ${why}` };
}
