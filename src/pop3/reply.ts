// Pure parsing of POP3 reply lines: RFC 1939 status indicators, RFC 2449 response codes in
// brackets, and SASL continuations ("+ base64", RFC 5034). No sockets here, so it is table-tested.

export type LineScan =
  | { kind: 'need-more' }
  | { kind: 'too-long' }
  | { kind: 'line'; line: string; next: number };

const LF = 0x0a;
const CR = 0x0d;

/**
 * Finds the next line in `buf` from `start`. The line excludes its CRLF (a bare LF is accepted,
 * since some servers send one). Returns need-more on a partial line, too-long once the line
 * exceeds `maxLength` octets without an end, so a hostile server cannot grow our buffer forever.
 */
export function scanLine(buf: Buffer, start: number, maxLength: number): LineScan {
  const lf = buf.indexOf(LF, start);
  if (lf < 0) return buf.length - start > maxLength ? { kind: 'too-long' } : { kind: 'need-more' };
  const end = lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
  if (end - start > maxLength) return { kind: 'too-long' };
  return { kind: 'line', line: buf.toString('utf8', start, end), next: lf + 1 };
}

export type Pop3Status = '+OK' | '-ERR' | '+';

export interface Pop3Reply {
  status: Pop3Status;
  /** RFC 2449 response code without brackets, upper-cased: 'IN-USE', 'SYS/TEMP', 'AUTH'. */
  code?: string;
  /** The human text after the status (and after the response code, if any). */
  text: string;
}

const RESP_CODE = /^\[([^\]\s]*)\]\s*(.*)$/s;

/** Parses one status line, or returns undefined when it is not a POP3 status line at all. */
export function parseReply(line: string): Pop3Reply | undefined {
  const m = /^(\+OK|-ERR|\+)(?:\s(.*))?$/is.exec(line);
  if (!m) return undefined;
  const status = m[1]!.toUpperCase() as Pop3Status;
  const rest = m[2] ?? '';
  // A continuation carries base64 (or nothing), never a response code.
  if (status === '+') return { status, text: rest };
  const rc = RESP_CODE.exec(rest);
  if (rc && rc[1] !== '') return { status, code: rc[1]!.toUpperCase(), text: rc[2]! };
  return { status, text: rest };
}

/** The APOP timestamp (RFC 1939 §7) from a greeting's text, e.g. '<1896.697170952@dbc.mtview.ca.us>'. */
export function apopTimestamp(greetingText: string): string | undefined {
  const m = /<[^<>\s]+@[^<>\s]+>/.exec(greetingText);
  return m?.[0];
}

/** One reply as the error family records it: `{ code: '-ERR', enhanced: 'IN-USE', text }`. */
export function toServerReply(reply: Pop3Reply): { code: string; enhanced?: string; text: string } {
  return reply.code === undefined
    ? { code: reply.status, text: reply.text }
    : { code: reply.status, enhanced: reply.code, text: reply.text };
}
