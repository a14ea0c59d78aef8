// Pure parser for SMTP/LMTP replies (RFC 5321 4.2) with enhanced status codes (RFC 3463, RFC 2034).
// No sockets: it takes the bytes received so far and says "here is a reply" or "need more".
import { PostboteError } from '../errors.js';
import type { SmtpReply } from './types.js';

// RFC 5321 4.5.3.1.5 allows 512 octets per reply line; Exchange and Postfix send longer texts
// (banners, policy URLs), so accept 16× that while still bounding memory against a runaway server.
export const MAX_REPLY_LINE = 8192;
// An EHLO reply has ~15 lines; a server sending hundreds of continuation lines is broken or hostile.
export const MAX_REPLY_LINES = 256;
// A whole reply, all lines together: an EHLO reply is under 1 KiB, the longest refusals (Exchange,
// Microsoft 365 with policy URLs) a few KiB. 64 KiB bounds what one connection may make us hold
// (Postfix keeps at most line_length_limit, 2 KiB, of a multi-line reply's text).
export const MAX_REPLY_BYTES = 64 * 1024;

export interface ParsedReply {
  reply: SmtpReply;
  /** Bytes of the input (from `start`) that this reply took, including the final line break. */
  consumed: number;
  /**
   * The lines carried different codes (`250-ok` then `451 oops`): a protocol violation, read by its
   * last line as Postfix does. The caller logs it as the server's fault.
   */
  mixedCodes?: true;
}

const LF = 0x0a;
const CR = 0x0d;
// RFC 3463: class "." subject "." detail; subject and detail are 1–3 digits.
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)/;

/**
 * Parses one complete reply starting at `start`. Returns null when the input ends before the
 * reply's last line does ("need more"); throws a PostboteError (PROTOCOL or LINE_TOO_LONG) on
 * input that is not an SMTP reply. Lines may end in CRLF or a bare LF (lenient on input).
 */
export function parseReply(input: Buffer, start = 0): ParsedReply | null {
  let pos = start;
  let first: number | undefined;
  let mixed = false;
  const enhanced: string[] = [];
  const texts: string[] = [];
  for (let lines = 0; ; lines++) {
    if (lines >= MAX_REPLY_LINES) {
      throw protocol(`reply has more than ${MAX_REPLY_LINES} lines`, input.subarray(start, pos));
    }
    const lf = input.indexOf(LF, pos);
    if (lf === -1) {
      if (input.length - pos > MAX_REPLY_LINE) throw tooLong();
      if (input.length - start > MAX_REPLY_BYTES) throw tooBig();
      return null;
    }
    if (lf - pos > MAX_REPLY_LINE) throw tooLong();
    if (lf + 1 - start > MAX_REPLY_BYTES) throw tooBig();
    const end = lf > pos && input[lf - 1] === CR ? lf - 1 : lf;
    const line = input.toString('utf8', pos, end);
    pos = lf + 1;
    const parsed = parseLine(line);
    first ??= parsed.code;
    if (parsed.code !== first) mixed = true;
    if (parsed.enhanced !== undefined) enhanced.push(parsed.enhanced);
    texts.push(parsed.text);
    if (parsed.last) {
      // The last line decides (Postfix's smtp_chat_resp does the same); RFC 2034 puts the enhanced
      // code on every line: the first one of the deciding code's class is taken.
      const code = parsed.code;
      const reply: SmtpReply = { code, text: texts.join('\n') };
      const detail = enhanced.find((e) => e[0] === String(code)[0]);
      if (detail !== undefined) reply.enhanced = detail;
      const result: ParsedReply = { reply, consumed: pos - start };
      if (mixed) result.mixedCodes = true;
      return result;
    }
  }
}

interface ReplyLine {
  code: number;
  last: boolean;
  enhanced?: string;
  text: string;
}

/** One line: three digits, then ' ' (last line), '-' (more follow) or nothing, then the text. */
export function parseLine(line: string): ReplyLine {
  if (!/^[2-5]\d\d(?:[ -]|$)/.test(line)) throw protocol('malformed reply line', line);
  const code = Number(line.slice(0, 3));
  const last = line[3] !== '-';
  let text = line.slice(4);
  // Parsed whenever present (servers send it without advertising ENHANCEDSTATUSCODES), but only
  // when its class matches the basic code: "250 2.0.0" is an enhanced code, "550 2.0 rules" is text.
  const m = ENHANCED.exec(text);
  let enhanced: string | undefined;
  if (m && m[1] === line[0]) {
    enhanced = `${m[1]}.${m[2]}.${m[3]}`;
    text = text.slice(m[0].length);
  }
  return enhanced === undefined ? { code, last, text } : { code, last, enhanced, text };
}

/** "550 5.1.1 No such user" — for messages and logs. */
export function formatReply(reply: SmtpReply): string {
  const enhanced = reply.enhanced ? ` ${reply.enhanced}` : '';
  return `${reply.code}${enhanced} ${reply.text.replaceAll('\n', ' / ')}`;
}

function tooLong(): PostboteError {
  return new PostboteError('LINE_TOO_LONG', `server sent a reply line over ${MAX_REPLY_LINE} bytes`, {
    temporary: true,
  });
}

function tooBig(): PostboteError {
  return new PostboteError('LINE_TOO_LONG', `server sent a reply over ${MAX_REPLY_BYTES} bytes`, {
    temporary: true,
  });
}

function protocol(message: string, line: string | Buffer): PostboteError {
  const shown = String(line).slice(0, 200);
  return new PostboteError('PROTOCOL', `${message}: ${JSON.stringify(shown)}`, { temporary: true });
}
