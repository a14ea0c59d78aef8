// The reverse path a fetched message is handed on with, when it is taken from its headers. Only the
// project's address parser decides what the address is (never text inside a display name), and only a
// full address (local part, qualified domain) is used: anything else becomes the null sender, which
// every target accepts, instead of a MAIL FROM that strict targets refuse or that quarantines the mail.
import { parseMailbox } from './address.js';
import { firstHeader, type Header } from './headers.js';

/** Return-Path as the provider recorded it; without one, the first From mailbox. '' is the null sender. */
export function reversePathOf(headers: Header[]): string {
  const returnPath = firstHeader(headers, 'return-path');
  // A Return-Path is the provider's record of the envelope: when it is `<>` or unreadable, the From
  // address is not a better guess at the envelope (a bounce must stay a bounce).
  if (returnPath !== undefined) return fullAddress(returnPath) ?? '';
  const from = firstHeader(headers, 'from');
  return from === undefined ? '' : (fullAddress(from) ?? '');
}

/**
 * The address of a header value if it is a full one: `postmaster` (no domain) and `root@localhost` (no
 * qualified domain, refused by strict targets such as Postfix's reject_non_fqdn_sender) are not.
 */
export function fullAddress(value: string): string | undefined {
  const mailbox = parseMailbox(value);
  if (!mailbox) return undefined;
  const qualified = mailbox.domain.startsWith('[') || /^[^.]+(\.[^.]+)+$/.test(mailbox.domain);
  return qualified ? mailbox.address : undefined;
}
