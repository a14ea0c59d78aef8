// The trace header Postbote prepends (RFC 5322 3.6.7, RFC 5321 4.4): where the message came from,
// which host handed it on, how, under which id, and when. Its `by` also serves loop detection.

export interface ReceivedInput {
  /** Provider host the message was fetched from. */
  from: string;
  /** This host's name (target.helo). */
  by: string;
  protocol: 'pop3' | 'imap';
  secure: boolean;
  /** Postbote's id for the message (spool key), to find it in logs and the store. */
  id: string;
  /** Only named when there is exactly one, so Bcc recipients are not disclosed to each other. */
  recipients: string[];
  date: Date;
}

export function receivedHeader(r: ReceivedInput): string {
  const proto = r.protocol.toUpperCase() + (r.secure ? 'S' : '');
  const forClause = r.recipients.length === 1 ? `\r\n\tfor <${r.recipients[0]}>` : '';
  return (
    `Received: from ${r.from}\r\n\tby ${r.by} (Postbote) with ${proto}\r\n\tid ${r.id}` +
    `${forClause}; ${rfc5322Date(r.date)}\r\n`
  );
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export function rfc5322Date(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`
  );
}

/** Whether Postbote (this `by` host) already handled the message: a loop through this hop. */
export function hasOwnTrace(receivedValues: string[], by: string): boolean {
  const needle = `by ${by.toLowerCase()} (postbote)`;
  return receivedValues.some((v) => v.toLowerCase().replace(/\s+/g, ' ').includes(needle));
}
