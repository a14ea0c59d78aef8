// Expected wire forms of a stored message, for byte checks against what servers send: line ends
// normalised to CRLF (as Dovecot serves Maildir files) and POP3/SMTP dot-stuffing.

/** Bare LF → CRLF; existing CRLF pairs are kept as they are. */
export function toCrlf(data: Buffer): Buffer {
  let bare = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 0x0a && data[i - 1] !== 0x0d) bare++;
  if (bare === 0) return data;
  const out = Buffer.allocUnsafe(data.length + bare);
  let o = 0;
  let from = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0x0a && data[i - 1] !== 0x0d) {
      o += data.copy(out, o, from, i);
      out[o++] = 0x0d;
      from = i;
    }
  }
  data.copy(out, o, from);
  return out;
}

/** Doubles a '.' at the start of every line (RFC 1939 §3, RFC 5321 §4.5.2). */
export function dotStuff(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0x2e && (i === 0 || data[i - 1] === 0x0a)) {
      parts.push(data.subarray(from, i), Buffer.from('.'));
      from = i;
    }
  }
  parts.push(data.subarray(from));
  return Buffer.concat(parts);
}

/** What a POP3 server sends after "+OK" for RETR of `stored`: CRLF, stuffed, ".\r\n" terminator. */
export function pop3RetrBody(stored: Buffer): Buffer {
  const crlf = toCrlf(stored);
  const ending = crlf.length === 0 || crlf.subarray(-2).equals(Buffer.from('\r\n')) ? '' : '\r\n';
  return Buffer.concat([dotStuff(crlf), Buffer.from(ending + '.\r\n')]);
}
