// The Received header a receiving MTA must add (RFC 5321 4.4): who connected, as what, to which host,
// with which protocol (RFC 3848: ESMTPS with TLS, ESMTPA/ESMTPSA after AUTH) and the session id.
import type { SMTPServerSession } from 'smtp-server';
import { rfc5322Date } from '../delivery/received.js';
import { normalizeAddress } from './ip-ranges.js';

/** Client-chosen names go into a header: only printable characters without parentheses or brackets. */
function clean(value: string): string {
  return value.replace(/[^\x21-\x7e]|[()[\]]/g, '?').slice(0, 255) || 'unknown';
}

export function traceHeader(
  session: Pick<
    SMTPServerSession,
    'id' | 'remoteAddress' | 'hostNameAppearsAs' | 'transmissionType' | 'envelope'
  >,
  by: string,
  date: Date,
): string {
  const ip = normalizeAddress(session.remoteAddress);
  const helo = clean(session.hostNameAppearsAs ?? '');
  const proto = /^E?SMTP[SA]*$|^LMTP[SA]*$/.test(session.transmissionType)
    ? session.transmissionType
    : 'ESMTP';
  // Named only for a single recipient, so Bcc recipients are not disclosed to each other.
  const to = session.envelope.rcptTo.length === 1 ? `\r\n\tfor <${session.envelope.rcptTo[0]!.address}>` : '';
  return (
    `Received: from ${helo} ([${ip}])\r\n\tby ${by} (Postbote) with ${proto}\r\n\tid ${clean(session.id)}` +
    `${to}; ${rfc5322Date(date)}\r\n`
  );
}
