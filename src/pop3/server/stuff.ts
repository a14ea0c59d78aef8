// Serialising message bodies for the wire (server side): byte-stuffing and the terminator for RETR,
// and TOP's header-plus-n-lines cut. Pure functions, tested with the client's unstuffer.

const CRLF = Buffer.from('\r\n');
const TERMINATOR = Buffer.from('.\r\n');

/**
 * Dot-stuffs a message (a '.' that starts a line after CRLF or at the start gets another '.') and
 * appends the terminator, adding a CRLF first if the message does not end with one (RFC 1939 §3).
 */
export function stuffMessage(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  if (data[0] === 0x2e) parts.push(Buffer.from('.'));
  for (let i = data.indexOf(CRLF); i >= 0; i = data.indexOf(CRLF, i + 2)) {
    if (data[i + 2] === 0x2e) {
      parts.push(data.subarray(start, i + 2), Buffer.from('.'));
      start = i + 2;
    }
  }
  parts.push(data.subarray(start));
  const endsWithCrlf = data.length >= 2 && data[data.length - 2] === 0x0d && data[data.length - 1] === 0x0a;
  if (data.length > 0 && !endsWithCrlf) parts.push(CRLF);
  parts.push(TERMINATOR);
  return Buffer.concat(parts);
}

/** The header block, the empty line, and the first `lines` body lines (RFC 1939 TOP). */
export function topOf(data: Buffer, lines: number): Buffer {
  const headerEnd = data.indexOf('\r\n\r\n');
  if (headerEnd < 0) return data;
  let end = headerEnd + 4;
  for (let n = 0; n < lines && end < data.length; n++) {
    const next = data.indexOf(CRLF, end);
    end = next < 0 ? data.length : next + 2;
  }
  return data.subarray(0, end);
}
